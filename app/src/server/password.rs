//! Password hashing (Argon2id, OWASP parameters) and the rules for new passwords.
//!
//! Hashing is deliberately slow, so it runs on tokio's blocking threads, never on the async ones.

use crate::domain::check_password_length;
use crate::error::AppError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

/// m = 19 MiB, t = 2, p = 1: the OWASP minimum for Argon2id, which SPEC §3.4 requires.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

pub fn verify_blocking(stored: &str, password: &str) -> bool {
    match PasswordHash::new(stored) {
        // Parameters come from the stored hash, so old hashes keep verifying if defaults change.
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

pub async fn hash(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|_| AppError::Internal)?
}

/// Verifies `password` against `stored`; with no stored hash (unknown email, invited user) it
/// still spends the same work on a dummy hash, so timing does not tell whether the email exists.
pub async fn verify(stored: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_blocking(&stored, &password),
        None => {
            let _ = verify_blocking(dummy_hash(), &password);
            false
        }
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("portcullis dummy password for timing").unwrap_or_default())
}

/// The rules for a new password: length, then a dictionary check that rejects common and easily
/// guessed passwords (zxcvbn, which also penalizes the person's own email and name).
pub fn check_new_password(password: &str, personal: &[&str]) -> Result<(), String> {
    check_password_length(password)?;
    let estimate = zxcvbn::zxcvbn(password, personal);
    if u8::from(estimate.score()) < 3 {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(format!(
            "Choose a password that is harder to guess{hint}: it is too common or too simple"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip_and_wrong_password() {
        let h = hash_blocking("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking(&h, "correct horse battery staple"));
        assert!(!verify_blocking(&h, "correct horse battery stapler"));
        assert!(!verify_blocking("not a hash", "anything"));
    }

    #[test]
    fn hashes_are_salted() {
        assert_ne!(
            hash_blocking("same password twice").unwrap(),
            hash_blocking("same password twice").unwrap()
        );
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for common in [
            "password1234",
            "123456789012",
            "qwertyuiop123",
            "iloveyou1234",
            "aaaaaaaaaaaa",
        ] {
            assert!(
                check_new_password(common, &[]).is_err(),
                "{common} should be refused"
            );
        }
        assert!(
            check_new_password("ada.lovelace@example.com", &["ada.lovelace@example.com"]).is_err()
        );
        assert!(check_new_password("short", &[]).is_err());
        assert!(check_new_password("Tangerine-Orbit-Castle-42", &[]).is_ok());
    }
}
