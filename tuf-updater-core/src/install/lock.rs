//! The update lock: one process updates an app at a time.

use std::fs;

use super::error::InstallError;
use super::{Installer, UpdateLock, LOCK_FILE, LOCK_GRACE};
use crate::files::FileError;

impl Installer {
    /// Takes the update lock without waiting; `Busy` if another process has it.
    pub fn lock(&self) -> Result<UpdateLock, InstallError> {
        fs::create_dir_all(&self.dir).map_err(FileError::at(&self.dir))?;
        let path = self.dir.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(FileError::at(&path))?;
        // A lock held by another process is `Busy` at once, but for a moment: a child this
        // process is spawning holds a copy of the locked file until it executes its program
        // (the descriptor is close-on-exec), which can outlast our own release of the lock.
        let start = std::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(UpdateLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_GRACE => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(InstallError::Busy(path)),
                Err(fs::TryLockError::Error(e)) => return Err(FileError::new(path, e).into()),
            }
        }
    }
}
