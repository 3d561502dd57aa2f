//! Mail held for staff review (replies by mail the portal would not take on its own).

use crate::error::AppError;
use crate::model::HeldMail;
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::permitted,
    crate::policy::Action,
    crate::server::{inbound, now},
};

/// The mails waiting for a decision, newest first.
#[server(endpoint = "staff/mail/held")]
pub async fn held_mails() -> Result<Vec<HeldMail>, AppError> {
    permitted(Action::ReviewHeldMail, |state, _| async move {
        inbound::review::held(&state.db).await
    })
    .await
}

/// Accepts (`decision` = `accept`: the addressee's comment) or discards a held mail.
#[server(endpoint = "staff/mail/decide")]
pub async fn decide_mail(id: i64, decision: String) -> Result<(), AppError> {
    permitted(Action::ReviewHeldMail, |state, actor| async move {
        let accept = match decision.as_str() {
            "accept" => true,
            "discard" => false,
            _ => return Err(AppError::field("decision", "Choose accept or discard.")),
        };
        let client_addr = crate::server::request::current_client_addr(&state)?;
        inbound::review::decide(&state, &actor, id, accept, &client_addr, now()).await?;
        leptos_axum::redirect("/staff/mail");
        Ok(())
    })
    .await
}
