//! A form the server refused after a plain post: carried from the post to the page the person is
//! sent back to, so that page shows the problems beside what was typed.

use crate::error::AppError;
use serde::{Deserialize, Serialize};

/// What a refused plain form post brought back: for which server function, on which page, the
/// problems, and the fields as typed (passwords left out).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedForm {
    /// The path of the page the person was on (and is sent back to), without its query.
    pub page: String,
    /// The server function's path (`/api/…`) the form posted to.
    pub server_fn: String,
    pub error: AppError,
    pub fields: Vec<(String, String)>,
}

impl RefusedForm {
    /// The value typed in field `name` (the first, for a field sent more than once).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether field `name` was sent as `value` (a ticked box, a chosen radio button, or the
    /// hidden field that tells one of several forms of one server function from the others).
    pub fn sent(&self, name: &str, value: &str) -> bool {
        self.fields.iter().any(|(n, v)| n == name && v == value)
    }
}

/// Whether a field's value is kept when its form is refused: never a password, whatever the
/// field is called around the word.
pub fn keeps_field(name: &str) -> bool {
    !name.to_ascii_lowercase().contains("password")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_never_kept() {
        assert!(!keeps_field("password"));
        assert!(!keeps_field("new_password"));
        assert!(!keeps_field("confirm_Password"));
        assert!(keeps_field("email"));
        assert!(keeps_field("body"));
    }

    #[test]
    fn what_was_sent_is_told_by_name_and_value() {
        let refused = RefusedForm {
            page: "/cases/CS0001001".into(),
            server_fn: "/api/cases/step".into(),
            error: AppError::field("comment", "Say why"),
            fields: vec![
                ("step".into(), "resolve".into()),
                ("comment".into(), "".into()),
            ],
        };
        assert!(refused.sent("step", "resolve"));
        assert!(!refused.sent("step", "cancel"));
        assert!(!refused.sent("comment", "x"));
        assert_eq!(refused.value("step"), Some("resolve"));
        assert_eq!(refused.value("missing"), None);
    }
}
