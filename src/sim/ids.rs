//! Identifiers shaped like the real services' ones, drawn from the seeded random generator so
//! that a run with the same seed and the same sequence of calls yields the same ids.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Deterministic source of every random identifier.
#[derive(Debug)]
pub struct IdGen {
    rng: StdRng,
}

impl IdGen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed ^ 0x1d5_5eed),
        }
    }

    /// A request id: an upper-case UUID (version 4 layout).
    pub fn request_id(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        let mut b = bytes;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode_upper(b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }

    /// A DTS job id: 15 lower-case alphanumerics starting with a letter (instance id = `dts` + it).
    pub fn dts_job_id(&mut self) -> String {
        let mut id = String::with_capacity(15);
        id.push(LOWER_ALNUM[self.rng.random_range(0..26)] as char);
        id.push_str(&self.pick(LOWER_ALNUM, 14));
        id
    }

    /// An STS AccessKeyId (`STS.NT…`).
    pub fn sts_access_key_id(&mut self) -> String {
        format!("STS.NT{}", self.pick(ALNUM, 26))
    }

    /// An STS AccessKeySecret.
    pub fn sts_secret(&mut self) -> String {
        self.pick(ALNUM, 44)
    }

    /// An STS security token (`CAIS…`, opaque).
    pub fn security_token(&mut self) -> String {
        format!("CAIS{}", self.pick(ALNUM, 220))
    }

    /// A numeric role id as STS reports in `AssumedRoleId`.
    pub fn role_id(&mut self) -> String {
        format!("3{}", self.rng.random_range(10u64.pow(16)..10u64.pow(17)))
    }

    /// A uniform draw in `[0, 1)` (fault rates).
    pub fn chance(&mut self) -> f64 {
        self.rng.random()
    }

    fn pick(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.rng.random_range(0..alphabet.len())] as char)
            .collect()
    }
}

/// A stable 64-bit hash (FNV-1a) for deterministic per-object variation (jitter, row counts).
pub fn stable_hash(parts: &[&str], seed: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for part in parts {
        for b in part.as_bytes().iter().chain(std::iter::once(&0xff)) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// Maps a hash to `[0, 1)`.
pub fn unit(hash: u64) -> f64 {
    (hash >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_well_shaped() {
        let (mut a, mut b) = (IdGen::new(7), IdGen::new(7));
        let id = a.dts_job_id();
        assert_eq!(id, b.dts_job_id());
        assert_eq!(id.len(), 15);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let rid = a.request_id();
        assert_eq!(rid.len(), 36);
        assert_eq!(rid, rid.to_uppercase());
        assert!(a.sts_access_key_id().starts_with("STS."));
    }
}
