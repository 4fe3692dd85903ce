//! Unix: the mode bits and the owner's uid.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::{Exposure, Grant, ProblemKind, Role};

const ROOT: u32 = 0;
const GROUP_OTHER: u32 = 0o077;
const GROUP_OTHER_WRITE: u32 = 0o022;
const STICKY: u32 = 0o1000;

pub(crate) fn restrict_to_owner(path: &Path) -> io::Result<()> {
    let mode = if fs::metadata(path)?.is_dir() {
        0o700
    } else {
        0o600
    };
    fs::set_permissions(path, Permissions::from_mode(mode))
}

pub(crate) fn create_owner_only(path: &Path) -> io::Result<File> {
    // The mode applies at creation (the umask can only take bits away).
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

pub(crate) fn check_owner_only(path: &Path) -> Result<(), Exposure> {
    let meta = fs::metadata(path).map_err(|e| Exposure::Unknown {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mode = meta.mode();
    if mode & GROUP_OTHER == 0 {
        return Ok(());
    }
    let dir = meta.is_dir();
    let grants = [("group", (mode >> 3) & 0o7), ("others", mode & 0o7)]
        .into_iter()
        .filter(|(_, bits)| *bits != 0)
        .map(|(who, bits)| Grant {
            who: who.into(),
            rights: rights(bits, dir),
        })
        .collect();
    Err(Exposure::Shared {
        path: path.to_path_buf(),
        grants,
        mode: Some(mode & 0o7777),
    })
}

/// `read, write, execute` (or `search` for a directory) for the bits `rwx`.
fn rights(bits: u32, dir: bool) -> String {
    let names = [
        (0o4, "read"),
        (0o2, "write"),
        (0o1, if dir { "search" } else { "execute" }),
    ];
    names
        .iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The problems of one component without links.
pub(crate) fn component_problems(path: &Path, role: Role) -> io::Result<Vec<ProblemKind>> {
    let meta = fs::metadata(path)?;
    let mut problems = Vec::new();
    if meta.uid() != ROOT {
        problems.push(ProblemKind::Owner {
            owner: format!("uid {}", meta.uid()),
        });
    }
    let mode = meta.mode();
    // Others may create entries in a sticky directory of root's, but not remove or rename
    // the ones they do not own.
    let sticky_ok =
        role == Role::Ancestor && meta.is_dir() && meta.uid() == ROOT && mode & STICKY != 0;
    if mode & GROUP_OTHER_WRITE != 0 && !sticky_ok {
        let grants = [("group", 0o020), ("others", 0o002)]
            .into_iter()
            .filter(|(_, bit)| mode & bit != 0)
            .map(|(who, _)| Grant {
                who: who.into(),
                rights: String::new(),
            })
            .collect();
        problems.push(ProblemKind::Writable {
            grants,
            mode: Some(mode & 0o7777),
        });
    }
    Ok(problems)
}

/// A problem when the link `path` is not root's (who owns a link can replace it: Linux
/// ignores a link's own mode).
pub(crate) fn link_problem(path: &Path) -> io::Result<Option<ProblemKind>> {
    let uid = fs::symlink_metadata(path)?.uid();
    Ok((uid != ROOT).then(|| ProblemKind::LinkOwner {
        owner: format!("uid {uid}"),
    }))
}

pub(crate) fn display_path(path: &Path) -> PathBuf {
    path.to_path_buf()
}
