//! Staff passwords: Argon2id with the crate's default parameters (19 MiB, 2 passes), in PHC
//! strings that carry their own salt and parameters. Hashing costs tens of milliseconds on
//! purpose: async callers run it on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// A PHC string (`$argon2id$v=19$…`).
pub fn hash(password: &str) -> String {
    Argon2::default().hash_password(password.as_bytes()).expect("Argon2id hashing of an in-memory password").to_string()
}

/// Whether `password` matches the stored PHC string. A malformed string never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_differ() {
        let a = super::hash("correct horse battery");
        let b = super::hash("correct horse battery");
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(super::verify("correct horse battery", &a));
        assert!(!super::verify("correct horse batterY", &a));
        assert!(!super::verify("x", "not a hash"));
    }
}
