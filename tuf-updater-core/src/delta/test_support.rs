//! What the delta module's unit tests share.

/// Pseudo-random bytes (xorshift, a different stream per seed): incompressible without an
/// earlier copy, which is what a patch must find.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed * 2 + 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}
