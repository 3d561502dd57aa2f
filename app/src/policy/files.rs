//! Who may see, add and remove attached files: exactly who may see what a file is attached to.

use super::{can, kb_clearance, permits, reading_scope, Action, Actor, Scope};
use crate::error::AppError;
use crate::model::kb::Clearance;

/// Who may see an attached file: exactly who may see what it is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileScope {
    /// The account of the case or change request it is attached to; `None` while it is staged
    /// (uploaded ahead of its form), when only its uploader sees it, or on an article.
    pub account_id: Option<i64>,
    pub uploaded_by: i64,
    /// Attached to an internal work note, or marked staff only.
    pub internal: bool,
    /// The knowledge-base article it belongs to: its visibility, and whether it is published.
    pub article: Option<(crate::model::kb::KbVisibility, bool)>,
}

/// Whether `actor` (or an anonymous visitor) may see (download, list) a file of `scope`. Anything
/// else is "not found", like a file that does not exist, so a guessed token tells nothing; an
/// anonymous visitor is asked to sign in for anything but a public article's file.
pub fn may_see_file(actor: Option<&Actor>, scope: &FileScope) -> Result<(), AppError> {
    let hidden = |_| AppError::NotFound;
    if let Some((visibility, published)) = scope.article {
        use crate::model::kb::KbVisibility;
        let needed = match visibility {
            KbVisibility::Public => Clearance::Public,
            KbVisibility::Customers => Clearance::Customers,
            KbVisibility::Internal => Clearance::Internal,
        };
        let writer = actor.is_some_and(|a| permits(a.role, Action::WriteKb));
        return if kb_clearance(actor)? >= needed && (published || writer) {
            Ok(())
        } else if actor.is_none() {
            Err(AppError::Unauthorized)
        } else {
            Err(AppError::NotFound)
        };
    }
    let Some(actor) = actor else {
        return Err(AppError::Unauthorized);
    };
    let Some(account_id) = scope.account_id else {
        return if actor.user_id == scope.uploaded_by {
            Ok(())
        } else {
            Err(AppError::NotFound)
        };
    };
    match reading_scope(actor).map_err(hidden)? {
        Scope::AllAccounts if scope.internal => {
            can(actor, Action::SeeInternalNotes).map_err(hidden)
        }
        Scope::AllAccounts => Ok(()),
        Scope::Account(own) if own == account_id && !scope.internal => Ok(()),
        Scope::Account(_) => Err(AppError::NotFound),
    }
}

/// Whether `actor` may upload files at all (to a case they can read, or ahead of a form).
pub fn may_upload_files(actor: &Actor) -> Result<(), AppError> {
    reading_scope(actor).map(|_| ())
}

/// Whether `actor` may remove a file they may see, uploaded by `uploaded_by`: vendor staff any
/// (with a reason, which the caller asks for); a customer their own upload until staff have
/// replied since (after that the reply may rest on it).
pub fn may_remove_file(actor: &Actor, uploaded_by: i64, answered: bool) -> Result<(), AppError> {
    if actor.role.is_staff() {
        can(actor, Action::EditStaffCaseFields)
    } else if actor.user_id == uploaded_by && !answered {
        can(actor, Action::ViewOwnAccountCases)
    } else {
        Err(AppError::Forbidden)
    }
}
