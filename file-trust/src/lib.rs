//! Who may read or change a file, on Unix and Windows.
//!
//! Two questions the updater and the publisher ask of the file system:
//! - Is a secret (a private key) readable and writable by its owner only? [`create_owner_only`]
//!   and [`restrict_to_owner`] make it so, [`check_owner_only`] verifies it.
//! - Can only the system's administrators change a file the app obeys (the update policy)?
//!   [`check_admin_controlled`] checks the file, every directory above it and every link on
//!   the way.
//!
//! Unix: the mode bits and the owner's uid (`root` is the administrator). A POSIX ACL shows in
//! the group bits (its mask), so a group bit set there is reported even when the ACL names a
//! user.
//!
//! Windows: the owner SID and the DACL. Owner-only is a protected DACL (nothing inherited)
//! with one ACE granting the current user full control; the administrators are
//! `BUILTIN\Administrators`, `SYSTEM` and `TrustedInstaller`. Deny ACEs are not credited (a
//! check may refuse a DACL whose deny ACEs would in fact block a grant), and an ACE of a kind
//! this crate does not read counts as a grant to someone else. Wine (used to run the tests on
//! Linux) keeps no security descriptors: it derives them from the Unix mode, so an ACL set
//! there reads back differently (see `tests/windows.rs`).

#[cfg(any(windows, test))]
mod acl;
mod error;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as sys;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as sys;

use std::fs;
use std::path::{Path, PathBuf};

pub use error::{Exposure, Grant, Problem, ProblemKind, Untrusted, ADMINISTRATORS};

/// Makes an existing file or directory readable and writable by its owner only, following
/// symlinks. Unix: mode 0600 (file) or 0700 (directory). Windows: a protected DACL (no
/// inherited ACEs) with one ACE granting the current user (the process token's user) full
/// control, inherited by what a directory will hold.
pub fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    sys::restrict_to_owner(path)
}

/// Creates `path`, which must not exist, with owner-only access from the start (no moment
/// where others could open it) and returns it opened for writing. Unix: mode 0600. Windows:
/// created with the DACL of [`restrict_to_owner`].
pub fn create_owner_only(path: &Path) -> std::io::Result<fs::File> {
    sys::create_owner_only(path)
}

/// Ok when only the owner can read or change `path` (symlinks followed), else who else can.
/// Unix: any group or other permission bit. Windows: any allow ACE granting read or a kind of
/// write to someone else than the file's owner, the current user and `SYSTEM` (the OS
/// itself, which can read every file anyway), or a NULL DACL.
pub fn check_owner_only(path: &Path) -> Result<(), Exposure> {
    sys::check_owner_only(path)
}

/// Checks that only the system's administrators can change `path`: the file and every
/// directory above it up to the root, both as given and where links lead, must be owned by an
/// administrator and writable by no one else; every link on the way must be an
/// administrator's. Reports every problem found.
///
/// Unix: owner uid 0 and no group or other write bit; a directory above the path may have them
/// when it is root's and sticky (`/tmp`), since then no one else can remove or rename what it
/// holds.
///
/// Windows: owned by `BUILTIN\Administrators`, `SYSTEM` or `TrustedInstaller`; no ACE grants
/// anyone else write, append, delete, `WRITE_DAC`, `WRITE_OWNER`, `GENERIC_WRITE` or
/// `GENERIC_ALL` on the path itself (or delete-child when it is a directory); a NULL DACL is
/// writable by everyone. A directory above it is refused when someone else may delete it or
/// what it holds, change its permissions or owner: creating a new entry there does not
/// replace an existing one (Windows' counterpart of the sticky directory), and stock Windows
/// lets users create folders in `C:\` and `C:\ProgramData`.
pub fn check_admin_controlled(path: &Path) -> Result<(), Untrusted> {
    let mut walk = Walk::default();
    walk.run(path);
    if walk.problems.is_empty() {
        Ok(())
    } else {
        Err(Untrusted {
            path: path.to_path_buf(),
            problems: walk.problems,
        })
    }
}

/// The ProgramData folder as the OS gives it (`SHGetKnownFolderPath(FOLDERID_ProgramData)`),
/// never from the environment, which whoever starts the process controls.
#[cfg(windows)]
pub fn program_data_dir() -> std::io::Result<PathBuf> {
    sys::program_data_dir()
}

/// What a component is to the path checked: the path itself, or a directory above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Target,
    Ancestor,
}

/// The state of [`check_admin_controlled`]: real paths already checked, problems found.
#[derive(Default)]
struct Walk {
    checked: Vec<PathBuf>,
    problems: Vec<Problem>,
}

impl Walk {
    fn run(&mut self, path: &Path) {
        let given = match std::path::absolute(path) {
            Ok(p) => p,
            Err(e) => return self.unreadable(path, &e),
        };
        // The path as given: a link on it must be an administrator's, and each directory it
        // goes through is checked where it really is. Root first, so problems read top down.
        for prefix in root_first(&given) {
            let role = role(prefix, &given);
            match fs::symlink_metadata(prefix) {
                Err(e) => return self.unreadable(prefix, &e),
                Ok(meta) if meta.file_type().is_symlink() => match sys::link_problem(prefix) {
                    Ok(None) => {}
                    Ok(Some(kind)) => self.push(prefix, kind),
                    Err(e) => self.unreadable(prefix, &e),
                },
                Ok(_) => match fs::canonicalize(prefix) {
                    Ok(real) => self.check_real(&real, role),
                    Err(e) => return self.unreadable(prefix, &e),
                },
            }
        }
        // Where the links lead.
        match fs::canonicalize(&given) {
            Ok(real) => {
                for dir in root_first(&real) {
                    self.check_real(dir, role(dir, &real));
                }
            }
            Err(e) => self.unreadable(&given, &e),
        }
    }

    /// Checks a path without links, once.
    fn check_real(&mut self, real: &Path, role: Role) {
        if self.checked.iter().any(|p| p == real) {
            return;
        }
        self.checked.push(real.to_path_buf());
        match sys::component_problems(real, role) {
            Ok(kinds) => {
                for kind in kinds {
                    self.push(real, kind);
                }
            }
            Err(e) => self.unreadable(real, &e),
        }
    }

    fn push(&mut self, at: &Path, kind: ProblemKind) {
        self.problems.push(Problem {
            at: sys::display_path(at),
            kind,
        });
    }

    fn unreadable(&mut self, at: &Path, e: &std::io::Error) {
        self.push(
            at,
            ProblemKind::Unreadable {
                kind: e.kind(),
                reason: e.to_string(),
            },
        );
    }
}

fn root_first(path: &Path) -> Vec<&Path> {
    let mut all: Vec<&Path> = path.ancestors().collect();
    all.reverse();
    all
}

fn role(component: &Path, path: &Path) -> Role {
    if component == path {
        Role::Target
    } else {
        Role::Ancestor
    }
}
