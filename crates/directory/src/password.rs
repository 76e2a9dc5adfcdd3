//! Password hashing: Argon2id in PHC string form, verified in constant time.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use postern_store::{Secret, StoreError};
use std::sync::OnceLock;

/// Hashes a password for storage (Argon2id, default parameters, random salt).
pub fn hash_password(password: &Secret<String>) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash password: {e}")))
}

/// Checks a password against a stored hash. `None` (unknown user) still costs a
/// full verification against a dummy hash, so timing does not reveal which
/// accounts exist.
pub fn verify_password(stored: Option<&str>, password: &Secret<String>) -> bool {
    let dummy = dummy_hash();
    let (hash, real) = match stored {
        Some(h) => (h, true),
        None => (dummy.as_str(), false),
    };
    let ok = match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    };
    ok && real
}

fn dummy_hash() -> &'static String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&Secret::new("not a password of anyone".to_string())).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let pw = Secret::new("correct horse".to_string());
        let h = hash_password(&pw).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("correct horse"));
        assert!(verify_password(Some(&h), &pw));
        assert!(!verify_password(Some(&h), &Secret::new("wrong".into())));
        assert!(!verify_password(None, &pw));
        assert!(!verify_password(Some("garbage"), &pw));
    }
}
