//! What the checks report: [`Exposure`] (a file others can read or change) and [`Untrusted`]
//! (a path that others than the administrators can change), each naming the path and, in
//! words an administrator can act on, who has which access.

use std::fmt;
use std::path::{Path, PathBuf};

/// Who may change a path when it is under the administrators' control.
#[cfg(unix)]
pub const ADMINISTRATORS: &str = "root";
#[cfg(windows)]
pub const ADMINISTRATORS: &str =
    "an administrator (BUILTIN\\Administrators, SYSTEM or TrustedInstaller)";

/// One account or class of users and what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Unix: `group` or `others`. Windows: the account and its SID, e.g.
    /// `BUILTIN\Users (S-1-5-32-545)`.
    pub who: String,
    /// What it may do, e.g. `read, write` or `delete, change permissions`; empty when the
    /// context says it (a [`ProblemKind::Writable`] on Unix).
    pub rights: String,
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rights.is_empty() {
            f.write_str(&self.who)
        } else {
            write!(f, "{} ({})", self.who, self.rights)
        }
    }
}

/// A file or directory that others than its owner can read or change: what
/// [`check_owner_only`](crate::check_owner_only) found.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Exposure {
    /// `grants` lists each one besides the owner with its access. `mode` is the Unix
    /// permission bits (`None` on Windows).
    #[error("{} is accessible to others than its owner: {}{}", path.display(), list(grants), mode_suffix(*mode))]
    Shared {
        path: PathBuf,
        grants: Vec<Grant>,
        mode: Option<u32>,
    },
    /// Its permissions could not be read, so nothing is known.
    #[error("cannot read who may access {}: {reason}", path.display())]
    Unknown { path: PathBuf, reason: String },
}

impl Exposure {
    pub fn path(&self) -> &Path {
        match self {
            Exposure::Shared { path, .. } | Exposure::Unknown { path, .. } => path,
        }
    }
}

/// A path that others than the administrators can change: what
/// [`check_admin_controlled`](crate::check_admin_controlled) found. Lists every problem, on
/// the path itself and on the directories and links it goes through.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(path, problems))]
pub struct Untrusted {
    /// The path that was checked, as given.
    pub path: PathBuf,
    /// Never empty.
    pub problems: Vec<Problem>,
}

/// One file, directory or link that others than the administrators control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where: the path checked, a directory above it, a link on the way or where a link
    /// leads (as the file system names it, links resolved).
    pub at: PathBuf,
    pub kind: ProblemKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Owned by someone else than the administrators: `uid 1000`, or an account and SID.
    Owner { owner: String },
    /// Others than the administrators can change it (or, for a directory above the path,
    /// replace what it holds). `mode` is the Unix permission bits (`None` on Windows).
    Writable {
        grants: Vec<Grant>,
        mode: Option<u32>,
    },
    /// A symbolic link (or Windows junction) on the path that its owner, not an
    /// administrator, can point elsewhere.
    LinkOwner { owner: String },
    /// It could not be inspected (missing, or permission denied).
    Unreadable {
        kind: std::io::ErrorKind,
        reason: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = self.at.display();
        match &self.kind {
            ProblemKind::Owner { owner } => {
                write!(f, "{at} is owned by {owner}, not {ADMINISTRATORS}")
            }
            ProblemKind::Writable { grants, mode } => {
                write!(
                    f,
                    "{at} is writable by {}{}",
                    list(grants),
                    mode_suffix(*mode)
                )
            }
            ProblemKind::LinkOwner { owner } => write!(
                f,
                "{at} is a symbolic link owned by {owner}, not {ADMINISTRATORS}"
            ),
            ProblemKind::Unreadable { reason, .. } => write!(f, "cannot inspect {at}: {reason}"),
        }
    }
}

/// `"/etc/app/policy.json is owned by uid 1000, not root"` when the path itself is the one
/// problem, else `"<path> is not under the administrators' control: <problem>; <problem>"`.
fn describe(path: &Path, problems: &[Problem]) -> String {
    let list = problems
        .iter()
        .map(Problem::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    match problems {
        [one] if one.at == path => list,
        _ => format!(
            "{} is not under the administrators' control: {list}",
            path.display()
        ),
    }
}

fn list(grants: &[Grant]) -> String {
    grants
        .iter()
        .map(Grant::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn mode_suffix(mode: Option<u32>) -> String {
    mode.map(|m| format!(" (mode {m:04o})")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_problem_on_the_path_itself_reads_as_one_sentence() {
        let path = PathBuf::from("/etc/app/update-policy.json");
        let err = Untrusted {
            path: path.clone(),
            problems: vec![Problem {
                at: path,
                kind: ProblemKind::Owner {
                    owner: "uid 1000".into(),
                },
            }],
        };
        assert_eq!(
            err.to_string(),
            format!("/etc/app/update-policy.json is owned by uid 1000, not {ADMINISTRATORS}")
        );
    }

    #[test]
    fn problems_above_the_path_name_the_path_and_each_place() {
        let err = Untrusted {
            path: "/etc/app/p.json".into(),
            problems: vec![
                Problem {
                    at: "/etc/app".into(),
                    kind: ProblemKind::Writable {
                        grants: vec![
                            Grant {
                                who: "group".into(),
                                rights: String::new(),
                            },
                            Grant {
                                who: "others".into(),
                                rights: String::new(),
                            },
                        ],
                        mode: Some(0o777),
                    },
                },
                Problem {
                    at: "/etc/app/p.json".into(),
                    kind: ProblemKind::Owner {
                        owner: "uid 7".into(),
                    },
                },
            ],
        };
        assert_eq!(
            err.to_string(),
            format!(
                "/etc/app/p.json is not under the administrators' control: /etc/app is \
                 writable by group, others (mode 0777); /etc/app/p.json is owned by uid 7, \
                 not {ADMINISTRATORS}"
            )
        );
    }

    #[test]
    fn exposure_names_who_and_what() {
        let err = Exposure::Shared {
            path: "k.pem".into(),
            grants: vec![Grant {
                who: "Everyone (S-1-1-0)".into(),
                rights: "read".into(),
            }],
            mode: None,
        };
        assert_eq!(
            err.to_string(),
            "k.pem is accessible to others than its owner: Everyone (S-1-1-0) (read)"
        );
    }
}
