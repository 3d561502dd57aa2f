//! Values that parse, not validate: once you hold an `Email`, it is a valid, normalized address.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    /// Trims and lower-cases the address: emails are unique across the portal case-insensitively.
    pub fn parse(raw: &str) -> Result<Email, String> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err("Enter an email address".into());
        }
        if value.len() > 254 {
            return Err("Email address must be 254 characters or fewer".into());
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(
                "Enter an email address in the correct format, like name@example.com".into(),
            );
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@');
        if !(domain_ok && local_ok) {
            return Err(
                "Enter an email address in the correct format, like name@example.com".into(),
            );
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 256;

/// Length rules for a new password. The common-password check needs a dictionary and runs on the
/// server only (`server::password::check_new_password`).
pub fn check_password_length(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(format!(
            "Password must be at least {PASSWORD_MIN_CHARS} characters"
        ));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(format!(
            "Password must be {PASSWORD_MAX_CHARS} characters or fewer"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "   ",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@@example.com",
            "ada @example.com",
            "ada@exa mple.com",
            "ada@.example.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn password_length_bounds() {
        assert!(check_password_length("short").is_err());
        assert!(check_password_length("elevenchars").is_err());
        assert!(check_password_length("twelve chars").is_ok());
        assert!(check_password_length(&"x".repeat(257)).is_err());
        // Length counts characters, not bytes.
        assert!(check_password_length("ééééééééééé").is_err());
    }
}
