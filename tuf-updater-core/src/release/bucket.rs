//! An install's place in a staged rollout.

use std::fmt;

use semver::Version;
use sha2::{Digest, Sha256};

/// An install's place in a staged rollout: 0 to 99. A release at `percent` reaches the
/// installs whose bucket is below `percent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bucket(u8);

impl Bucket {
    /// `None` unless `n < 100`.
    pub fn new(n: u8) -> Option<Bucket> {
        (n < 100).then_some(Bucket(n))
    }

    /// The bucket of an install running `current`: the first 8 bytes of
    /// `sha256(install_id ++ "/" ++ current)`, big-endian, mod 100.
    ///
    /// Stable while the app stays on one version, so raising a release's percentage only
    /// adds installs; drawn again after each update, so the same installs are not always
    /// the first to get a release.
    pub fn for_install(install_id: &str, current: &Version) -> Bucket {
        let digest = Sha256::new()
            .chain_update(install_id.as_bytes())
            .chain_update(b"/")
            .chain_update(current.to_string().as_bytes())
            .finalize();
        let head = digest.first_chunk::<8>().copied().unwrap_or_default();
        Bucket((u64::from_be_bytes(head) % 100) as u8)
    }

    /// The bucket's number, 0 to 99.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Whether a rollout at `percent` reaches this bucket.
    pub fn admits(self, percent: u8) -> bool {
        self.0 < percent
    }
}

impl fmt::Display for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn bucket_is_stable_bounded_and_spread() {
        let id = "5f0c3e2a9b8d4c7e1f6a2b3c4d5e6f70";
        let b = Bucket::for_install(id, &v("1.2.0"));
        assert_eq!(b, Bucket::for_install(id, &v("1.2.0")));
        assert!(b.get() < 100);
        // the documented formula
        let d = Sha256::digest(format!("{id}/1.2.0").as_bytes());
        let head: [u8; 8] = d[..8].try_into().unwrap();
        assert_eq!(u64::from(b.get()), u64::from_be_bytes(head) % 100);

        let mut counts = [0u32; 100];
        for i in 0..20_000 {
            let b = Bucket::for_install(&format!("{i:032x}"), &v("1.2.0"));
            counts[usize::from(b.get())] += 1;
        }
        // ~200 each; a fair hash never lands outside 100..300 here
        assert!(counts.iter().all(|c| (100..300).contains(c)), "{counts:?}");
        // drawn again per version: not every install keeps its bucket
        let moved = (0..100)
            .filter(|i| {
                let id = format!("{i:032x}");
                Bucket::for_install(&id, &v("1.2.0")) != Bucket::for_install(&id, &v("1.3.0"))
            })
            .count();
        assert!(moved > 80, "{moved}");
    }

    #[test]
    fn bucket_bounds_and_admission() {
        assert!(Bucket::new(99).is_some());
        assert!(Bucket::new(100).is_none());
        let zero = Bucket::new(0).unwrap();
        let last = Bucket::new(99).unwrap();
        assert!(!zero.admits(0));
        assert!(zero.admits(1));
        assert!(!last.admits(99));
        assert!(last.admits(100));
    }
}
