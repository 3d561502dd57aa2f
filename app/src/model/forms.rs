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

    /// Whether the form with these hidden `(name, value)` pairs is the one refused: several forms
    /// of one server function on a page (a step form per step) tell themselves apart by them.
    pub fn is_form(&self, server_fn: &str, hidden: &[(&str, &str)]) -> bool {
        self.server_fn == server_fn
            && hidden
                .iter()
                .all(|(name, value)| self.value(name) == Some(*value))
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
    fn forms_tell_themselves_apart_by_their_hidden_fields() {
        let refused = RefusedForm {
            page: "/cases/CS0001001".into(),
            server_fn: "/api/cases/step".into(),
            error: AppError::field("comment", "Say why"),
            fields: vec![
                ("step".into(), "resolve".into()),
                ("comment".into(), "".into()),
            ],
        };
        assert!(refused.is_form("/api/cases/step", &[("step", "resolve")]));
        assert!(!refused.is_form("/api/cases/step", &[("step", "cancel")]));
        assert!(!refused.is_form("/api/cases/comment", &[]));
        assert_eq!(refused.value("step"), Some("resolve"));
        assert_eq!(refused.value("missing"), None);
    }
}
