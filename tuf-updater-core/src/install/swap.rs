//! File-system moves that survive a kill: a file replaced by rename from a sibling temporary
//! file, two directories exchanged in one system call (`renameat2(RENAME_EXCHANGE)` on Linux,
//! `renamex_np(RENAME_SWAP)` on macOS). Each makes its result durable before returning.
//!
//! Without an exchange call (Windows, BSDs) two directories are exchanged by three renames
//! through a fixed third name beside the first, `.<a>.exchange` ([`exchange_by_renames`]). A
//! kill between two of them leaves one path missing; [`repair_exchange`], run by recovery for
//! a journal whose exchange may have been cut short, puts both back: after the first rename it
//! undoes the exchange (one rename back; the old pair), after the second it finishes it (one
//! rename on; the exchanged pair). Which of the two it chose the journal's identity check then
//! reads off the directory in place, as after an atomic exchange.
//!
//! On Windows a running executable cannot be renamed over: [`replace_file`] hands that case
//! to `self-replace`, recognising the running executable by file identity
//! ([`is_running_executable`]), not by how its path is spelled.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::InstallError;
use crate::files::{sync_dir, FileError};

pub(crate) fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A hidden sibling of `path` with a suffix: same directory, so same file system.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

/// A fresh name for the temporary copy beside `target`: hidden, and random so that it can
/// be no one else's file. Recorded in the journal before it is created.
pub fn scratch_name(target: &Path) -> PathBuf {
    let random = rand_core::RngCore::next_u64(&mut rand_core::OsRng);
    sibling(target, &format!(".update-{random:016x}"))
}

/// Copies `from` over `to` atomically through the temporary file `scratch` (a sibling of
/// `to`, so the rename stays on one file system): written, fsynced, given `from`'s
/// permissions, renamed into place; then the directory is fsynced. A `scratch` left by an
/// earlier, interrupted copy is replaced; on an error it is removed.
pub fn replace_file(from: &Path, to: &Path, scratch: &Path) -> Result<(), InstallError> {
    // Windows cannot rename over a running executable; self-replace knows the way around.
    #[cfg(windows)]
    if is_running_executable(to) {
        return self_replace::self_replace(from).map_err(|e| FileError::new(to, e).into());
    }
    let result = copy_then_rename(from, to, scratch);
    if result.is_err() {
        let _ = fs::remove_file(scratch);
    }
    result
}

/// Whether `path` is the file this process runs from, however either path is spelled:
/// compared by file identity (device and inode on Unix; volume serial number and file index
/// from `GetFileInformationByHandle` on Windows), not by equal paths. A target path from
/// `fs::canonicalize` is `\\?\C:\...` on Windows while `current_exe()` is `C:\...`, and
/// either may pass through a link or `..`. False when either file cannot be opened.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn is_running_executable(path: &Path) -> bool {
    std::env::current_exe().is_ok_and(|exe| same_file::is_same_file(&exe, path).unwrap_or(false))
}

fn copy_then_rename(from: &Path, to: &Path, scratch: &Path) -> Result<(), InstallError> {
    match fs::remove_file(scratch) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(FileError::new(scratch, e).into())
        }
        _ => {}
    }
    let mut tmp = fs::File::create_new(scratch).map_err(FileError::at(scratch))?;
    let mut src = fs::File::open(from).map_err(FileError::at(from))?;
    std::io::copy(&mut src, &mut tmp).map_err(FileError::at(scratch))?;
    tmp.flush().map_err(FileError::at(scratch))?;
    let permissions = src.metadata().map_err(FileError::at(from))?.permissions();
    fs::set_permissions(scratch, permissions).map_err(FileError::at(scratch))?;
    tmp.sync_all().map_err(FileError::at(scratch))?;
    drop(tmp);
    fs::rename(scratch, to).map_err(FileError::at(to))?;
    sync_dir(parent_of(to))?;
    Ok(())
}

/// Exchanges two directories (or files): in one atomic step where the system has an exchange
/// call, by [`exchange_by_renames`] elsewhere.
pub fn exchange(a: &Path, b: &Path) -> Result<(), InstallError> {
    #[cfg(test)]
    if let Some(steps) = tests::RENAMES_UP_TO.take() {
        renames_up_to(a, b, steps)?;
        if steps < 3 {
            let killed = std::io::Error::other("test: killed during the exchange by renames");
            return Err(FileError::new(a, killed).into());
        }
        return Ok(());
    }
    exchange_call(a, b)
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "macos"))]
fn exchange_call(a: &Path, b: &Path) -> Result<(), InstallError> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE)
        .map_err(|e| FileError::new(a, e.into()))?;
    sync_parents(a, b)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
fn exchange_call(a: &Path, b: &Path) -> Result<(), InstallError> {
    exchange_by_renames(a, b)
}

/// The fixed third name of [`exchange_by_renames`]: beside `a`, so recovery finds it from the
/// journal's two paths alone.
pub fn exchange_parking(a: &Path) -> PathBuf {
    sibling(a, ".exchange")
}

/// Exchanges `a` and `b` by three renames, `a` → parking, `b` → `a`, parking → `b`, each made
/// durable before the next, for systems without an exchange call. Not atomic: a kill between
/// two renames is put right by [`repair_exchange`]. A parking name that exists already is not
/// ours (recovery consumes ours before any new exchange): [`InstallError::ExchangeBlocked`],
/// nothing moved. If the second rename fails (Windows refuses to move a directory with an open
/// file in it) the first is undone before the error returns.
// Run on Linux and macOS by the tests only (and `exchange` under a test's switch).
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "macos"),
    allow(dead_code)
)]
pub fn exchange_by_renames(a: &Path, b: &Path) -> Result<(), InstallError> {
    renames_up_to(a, b, 3)
}

/// The first `steps` renames of [`exchange_by_renames`]; the tests stop early to stand for
/// a kill.
#[cfg_attr(
    any(target_os = "linux", target_os = "android", target_os = "macos"),
    allow(dead_code)
)]
fn renames_up_to(a: &Path, b: &Path, steps: usize) -> Result<(), InstallError> {
    let parking = exchange_parking(a);
    if present(&parking)? {
        return Err(InstallError::ExchangeBlocked(parking));
    }
    let renames = [(a, parking.as_path()), (b, a), (parking.as_path(), b)];
    for (step, (from, to)) in renames.into_iter().take(steps).enumerate() {
        if let Err(e) = fs::rename(from, to) {
            if step == 1 {
                let _ = rename_durably(&parking, a);
            }
            return Err(FileError::new(from, e).into());
        }
        sync_parents(from, to)?;
    }
    Ok(())
}

/// What [`repair_exchange`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// No parking name: no exchange by renames was cut short (or none began). Nothing done.
    Nothing,
    /// Killed after the first rename (`a` parked, `b` in place): `a` is put back, the
    /// exchange undone: one rename, and the pair is as before it.
    Undone,
    /// Killed after the second rename (`b` moved to `a`): the parked one is moved to `b`,
    /// the exchange finished: one rename, where undoing would take two.
    Finished,
    /// A parking name with both `a` and `b` present: no exchange of ours leaves that (one
    /// that found the name refused to start), so it is someone else's and is left alone.
    Foreign,
}

/// Puts right an exchange of `a` and `b` by [`exchange_by_renames`] that a kill may have cut
/// short, from which of `a`, `b` and the parking name exist (see [`Repair`]); afterwards both
/// exist and hold either the old pair or the exchanged pair. Idempotent, and does nothing when
/// no exchange was in progress. Only the parking name is ever moved, and only to the one of
/// `a`, `b` that is missing. Neither `a` nor `b` present: [`InstallError::ExchangeBroken`].
pub fn repair_exchange(a: &Path, b: &Path) -> Result<Repair, InstallError> {
    let parking = exchange_parking(a);
    if !present(&parking)? {
        return Ok(Repair::Nothing);
    }
    let (to, repair) = match (present(a)?, present(b)?) {
        (false, true) => (a, Repair::Undone),
        (true, false) => (b, Repair::Finished),
        (true, true) => {
            tracing::warn!(path = %parking.display(), "not an update's exchange: left alone");
            return Ok(Repair::Foreign);
        }
        (false, false) => {
            return Err(InstallError::ExchangeBroken {
                a: a.to_path_buf(),
                b: b.to_path_buf(),
                parked: parking,
            })
        }
    };
    tracing::info!(?repair, a = %a.display(), b = %b.display(), "repairing an interrupted exchange");
    rename_durably(&parking, to)?;
    Ok(repair)
}

/// Whether anything (a link included, not followed) is at `path`.
fn present(path: &Path) -> Result<bool, InstallError> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(FileError::new(path, e).into()),
    }
}

fn rename_durably(from: &Path, to: &Path) -> Result<(), InstallError> {
    fs::rename(from, to).map_err(FileError::at(from))?;
    sync_parents(from, to)
}

fn sync_parents(a: &Path, b: &Path) -> Result<(), InstallError> {
    sync_dir(parent_of(a))?;
    if parent_of(a) != parent_of(b) {
        sync_dir(parent_of(b))?;
    }
    Ok(())
}

/// The hex SHA-256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String, InstallError> {
    let mut file = fs::File::open(path).map_err(FileError::at(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(FileError::at(path))?;
        match buf.get(..n) {
            Some(chunk) if !chunk.is_empty() => hasher.update(chunk),
            _ => break,
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install::{InstallTarget, Installer, StartupOutcome};
    use std::cell::Cell;
    use std::path::Component;

    thread_local! {
        /// Set by a test: the next [`exchange`] on this thread runs this many of the three
        /// renames and, if fewer than three, fails as a kill would stop it.
        pub(super) static RENAMES_UP_TO: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// `path` relative to the current directory, through `..` up to the root.
    fn relative_to_cwd(path: &Path) -> PathBuf {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            cwd.components().next(),
            path.components().next(),
            "same drive"
        );
        let normal = |c: &Component<'_>| matches!(c, Component::Normal(_));
        let mut rel = PathBuf::new();
        cwd.components().filter(normal).for_each(|_| rel.push(".."));
        path.components().filter(normal).for_each(|c| rel.push(c));
        rel
    }

    #[test]
    fn the_running_executable_is_recognised_however_its_path_is_spelled() {
        let exe = std::env::current_exe().unwrap();
        assert!(is_running_executable(&exe));
        // What the target detection and the tests hand the installer: `\\?\C:\...` on
        // Windows, which never equals `current_exe()`'s spelling.
        let canonical = fs::canonicalize(&exe).unwrap();
        #[cfg(windows)]
        {
            assert!(
                canonical.to_string_lossy().starts_with(r"\\?\"),
                "{canonical:?}"
            );
            assert_ne!(canonical, exe);
        }
        assert!(is_running_executable(&canonical));
        let dir = exe.parent().unwrap();
        let dotted = dir
            .join("..")
            .join(dir.file_name().unwrap())
            .join(exe.file_name().unwrap());
        assert!(is_running_executable(&dotted), "{dotted:?}");
        let relative = relative_to_cwd(&exe);
        assert!(relative.is_relative());
        assert!(is_running_executable(&relative), "{relative:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_running_executable_is_recognised_through_a_symlinked_directory() {
        let exe = std::env::current_exe().unwrap();
        let links = tempfile::tempdir().unwrap();
        let link = links.path().join("bin");
        std::os::unix::fs::symlink(exe.parent().unwrap(), &link).unwrap();
        let through = link.join(exe.file_name().unwrap());
        assert_ne!(through, exe);
        assert!(is_running_executable(&through));
    }

    #[test]
    fn a_copy_of_the_running_executable_or_a_missing_file_is_not_it() {
        let exe = std::env::current_exe().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join(exe.file_name().unwrap());
        fs::copy(&exe, &copy).unwrap();
        assert!(!is_running_executable(&copy));
        assert!(!is_running_executable(&dir.path().join("missing")));
        assert!(!is_running_executable(dir.path()));
    }

    #[test]
    fn replace_file_keeps_permissions_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("new");
        let to = dir.path().join("app");
        fs::write(&from, b"new").unwrap();
        fs::write(&to, b"old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&from, fs::Permissions::from_mode(0o755)).unwrap();
        }
        let scratch = scratch_name(&to);
        fs::write(&scratch, b"left by a killed copy").unwrap();
        replace_file(&from, &to, &scratch).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"new");
        assert!(!scratch.exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&to).unwrap().permissions().mode() & 0o777,
                0o755
            );
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn exchange_swaps_two_directories() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("f"), b"A").unwrap();
        fs::write(b.join("f"), b"B").unwrap();
        exchange(&a, &b).unwrap();
        assert_eq!(fs::read(a.join("f")).unwrap(), b"B");
        assert_eq!(fs::read(b.join("f")).unwrap(), b"A");
    }

    /// Two directories `a` and `b` holding a file `f` with "A" and "B".
    fn pair(dir: &Path) -> (PathBuf, PathBuf) {
        let a = dir.join("a");
        let b = dir.join("b");
        for (path, content) in [(&a, "A"), (&b, "B")] {
            fs::create_dir(path).unwrap();
            fs::write(path.join("f"), content).unwrap();
        }
        (a, b)
    }

    fn content(dir: &Path) -> String {
        fs::read_to_string(dir.join("f")).unwrap()
    }

    #[test]
    fn an_exchange_by_renames_swaps_two_directories_and_leaves_no_parking_name() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = pair(dir.path());
        exchange_by_renames(&a, &b).unwrap();
        assert_eq!((content(&a), content(&b)), ("B".into(), "A".into()));
        assert!(!exchange_parking(&a).exists());
        assert_eq!(repair_exchange(&a, &b).unwrap(), Repair::Nothing);
    }

    /// A kill after each of the renames (0: before the first, 3: after the last), then the
    /// repair recovery runs: both paths hold the old pair or the exchanged one, and the
    /// identity `new_version_in_place` compares (the inode on Unix, a marker file inside the
    /// directory elsewhere) moved with the content. With `a` the staged new version and `b` the
    /// app, as `install()` calls it: recovery sees the new version in place iff exchanged.
    #[test]
    fn an_exchange_by_renames_killed_at_any_point_is_repaired_to_a_whole_pair() {
        let expected = [
            (Repair::Nothing, false),
            (Repair::Undone, false),
            (Repair::Finished, true),
            (Repair::Nothing, true),
        ];
        for (kill_after, (repair, exchanged)) in expected.into_iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let (a, b) = pair(dir.path());
            let (id_a, id_b) = (dir_identity(&a), dir_identity(&b));
            renames_up_to(&a, &b, kill_after).unwrap();
            assert_eq!(
                repair_exchange(&a, &b).unwrap(),
                repair,
                "kill after {kill_after}"
            );
            let want = if exchanged { ("B", "A") } else { ("A", "B") };
            assert_eq!((content(&a).as_str(), content(&b).as_str()), want);
            assert!(!exchange_parking(&a).exists());
            let new_in_place = dir_identity(&b) == id_a;
            assert_eq!(new_in_place, exchanged, "kill after {kill_after}");
            assert_eq!(dir_identity(&a) == id_b, exchanged);
            // Again: nothing left to do, nothing moves.
            assert_eq!(repair_exchange(&a, &b).unwrap(), Repair::Nothing);
            assert_eq!((content(&a).as_str(), content(&b).as_str()), want);
        }
    }

    fn dir_identity(path: &Path) -> String {
        super::super::dir_identity(path).unwrap()
    }

    #[test]
    fn a_parking_name_that_is_not_ours_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = pair(dir.path());
        let parking = exchange_parking(&a);
        fs::create_dir(&parking).unwrap();
        fs::write(parking.join("theirs"), b"x").unwrap();
        let err = exchange_by_renames(&a, &b).unwrap_err();
        assert!(
            matches!(err, InstallError::ExchangeBlocked(ref p) if p == &parking),
            "{err}"
        );
        assert_eq!((content(&a), content(&b)), ("A".into(), "B".into()));
        assert_eq!(repair_exchange(&a, &b).unwrap(), Repair::Foreign);
        assert!(parking.join("theirs").exists());
        assert_eq!((content(&a), content(&b)), ("A".into(), "B".into()));
    }

    #[test]
    fn a_parking_name_with_neither_path_is_an_error_not_a_guess() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = pair(dir.path());
        renames_up_to(&a, &b, 1).unwrap();
        fs::remove_dir_all(&b).unwrap();
        let err = repair_exchange(&a, &b).unwrap_err();
        assert!(matches!(err, InstallError::ExchangeBroken { .. }), "{err}");
        assert!(exchange_parking(&a).exists());
    }

    #[test]
    fn an_exchange_by_renames_whose_second_rename_fails_puts_the_first_back() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::create_dir(&a).unwrap();
        fs::write(a.join("f"), b"A").unwrap();
        exchange_by_renames(&a, &dir.path().join("missing")).unwrap_err();
        assert_eq!(content(&a), "A");
        assert!(!exchange_parking(&a).exists());
    }

    /// A bundle `Demo.app` with `v1`, an installer for it, and a `.tar.gz` of `v2`.
    fn bundle_app(dir: &Path) -> (PathBuf, Installer, PathBuf) {
        let bundle = dir.join("Demo.app");
        fs::create_dir(&bundle).unwrap();
        fs::write(bundle.join("demo"), b"v1").unwrap();
        let archive = dir.join("Demo.app.tar.gz");
        let gz = flate2::write::GzEncoder::new(
            fs::File::create(&archive).unwrap(),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o755);
        header.set_cksum();
        tar.append_data(&mut header, "Demo.app/demo", &b"v2"[..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap();
        let target = InstallTarget::Bundle(bundle.clone());
        (
            bundle,
            Installer::new(&dir.join("data"), target, 3),
            archive,
        )
    }

    fn hidden_names(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect()
    }

    /// `install()` killed after each rename of an exchange by renames (what Windows and the
    /// BSDs run): the next start repairs the exchange and then goes back to `Staged` or on to
    /// the new version, whichever the repair left in place; the install can then go on.
    #[test]
    fn an_install_killed_inside_an_exchange_by_renames_recovers_at_the_next_start() {
        for kill_after in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let (bundle, inst, archive) = bundle_app(dir.path());
            let lock = inst.lock().unwrap();
            inst.stage(&lock, &archive, "Demo.app.tar.gz", "1.0.0", "2.0.0")
                .unwrap();
            RENAMES_UP_TO.set(Some(kill_after));
            inst.install(&lock).unwrap_err();
            drop(lock);
            let outcome = inst.startup().unwrap();
            let version = "2.0.0".to_string();
            if kill_after < 2 {
                assert_eq!(outcome, StartupOutcome::Staged { version }, "{kill_after}");
                assert_eq!(fs::read(bundle.join("demo")).unwrap(), b"v1");
                inst.install(&inst.lock().unwrap()).unwrap();
            } else {
                let launch = 1;
                assert_eq!(
                    outcome,
                    StartupOutcome::PendingConfirmation { version, launch }
                );
            }
            assert_eq!(fs::read(bundle.join("demo")).unwrap(), b"v2");
            assert!(inst.confirm().unwrap());
            assert_eq!(hidden_names(dir.path()), Vec::<String>::new());
        }
    }

    /// `rollback()` killed after each rename of its exchange: the next start repairs it and
    /// finishes the rollback either way, with the previous version in place.
    #[test]
    fn a_rollback_killed_inside_an_exchange_by_renames_is_finished_at_the_next_start() {
        for kill_after in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let (bundle, inst, archive) = bundle_app(dir.path());
            let lock = inst.lock().unwrap();
            inst.stage(&lock, &archive, "Demo.app.tar.gz", "1.0.0", "2.0.0")
                .unwrap();
            RENAMES_UP_TO.set(Some(3));
            inst.install(&lock).unwrap();
            assert_eq!(fs::read(bundle.join("demo")).unwrap(), b"v2");
            RENAMES_UP_TO.set(Some(kill_after));
            inst.rollback(&lock, "unhealthy").unwrap_err();
            drop(lock);
            let outcome = inst.startup().unwrap();
            assert!(
                matches!(outcome, StartupOutcome::RolledBack { .. }),
                "{kill_after}: {outcome:?}"
            );
            assert_eq!(fs::read(bundle.join("demo")).unwrap(), b"v1");
            assert!(matches!(
                inst.startup().unwrap(),
                StartupOutcome::RollbackFinished { .. }
            ));
            assert_eq!(hidden_names(dir.path()), Vec::<String>::new());
        }
    }
}
