//! The roles of TUF: the names of the four top-level roles, and [`Role`], a role as errors
//! name it.

use std::fmt;

/// The root role's name: it names the keys of every top-level role.
pub const ROOT: &str = "root";
/// The timestamp role's name: it names the current snapshot.
pub const TIMESTAMP: &str = "timestamp";
/// The snapshot role's name: it names the current version of every targets role.
pub const SNAPSHOT: &str = "snapshot";
/// The top-level targets role's name: it lists targets and delegates.
pub const TARGETS: &str = "targets";
/// The four top-level roles, root first.
pub const TOP_LEVEL_ROLES: [&str; 4] = [ROOT, TIMESTAMP, SNAPSHOT, TARGETS];

/// A role, as errors name it: one of the four top-level roles, or a delegated targets role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Role {
    /// `root`.
    Root,
    /// `timestamp`.
    Timestamp,
    /// `snapshot`.
    Snapshot,
    /// `targets`, the top-level targets role.
    Targets,
    /// A targets role delegated by name (or a succinct hashed bin).
    Delegated(String),
}

impl Role {
    /// The role called `name` in metadata. Delegated roles never take a top-level name
    /// (metadata parsing refuses them), so the mapping is one to one.
    pub fn named(name: &str) -> Role {
        match name {
            ROOT => Role::Root,
            TIMESTAMP => Role::Timestamp,
            SNAPSHOT => Role::Snapshot,
            TARGETS => Role::Targets,
            other => Role::Delegated(other.to_string()),
        }
    }

    /// The role's name in metadata (`root`, `targets`, `stable`, ...).
    pub fn name(&self) -> &str {
        match self {
            Role::Root => ROOT,
            Role::Timestamp => TIMESTAMP,
            Role::Snapshot => SNAPSHOT,
            Role::Targets => TARGETS,
            Role::Delegated(name) => name,
        }
    }
}

impl From<&str> for Role {
    fn from(name: &str) -> Role {
        Role::named(name)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_their_names() {
        for name in [
            "root",
            "timestamp",
            "snapshot",
            "targets",
            "stable",
            "bins-0a",
        ] {
            assert_eq!(Role::named(name).name(), name);
            assert_eq!(Role::named(name).to_string(), name);
        }
        assert_eq!(Role::named("targets"), Role::Targets);
        assert_eq!(Role::named("beta"), Role::Delegated("beta".into()));
    }
}
