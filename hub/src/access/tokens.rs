//! API tokens: 256 random bits, shown once when made, stored only as their SHA-256.
//!
//! A plain digest is enough here (no slow password hash): a token is random, not chosen by
//! a person, so there is no dictionary to try, and the hub compares digests by looking
//! them up, never the token itself.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Prefix of every token, so that one found in a file or a chat is recognisable.
pub const PREFIX: &str = "yq_";

/// A new random token.
pub fn generate() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// The SHA-256 of a token, lower-case hex: what the configuration stores.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 64);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
        // The digest of a known string, so the stored form is what the README says.
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
