//! `password` is writeOnly (RFC 7643 §4.1.1): stored only as a salted argon2id hash, never returned.
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};

/// The PHC-format argon2id hash of `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness for a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};

    #[test]
    fn hashes_verify_and_are_salted() {
        let a = super::hash("t1meMachine").unwrap();
        let b = super::hash("t1meMachine").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        let parsed = PasswordHash::new(&a).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"t1meMachine", &parsed)
                .is_ok()
        );
        assert!(
            argon2::Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }
}
