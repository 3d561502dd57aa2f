//! Communications (SPEC §7): staff compose security notices and start NPS survey rounds for the
//! contacts of chosen accounts; recipients read their notices in the portal; contacts answer a
//! survey through their personal link without signing in.

use crate::error::AppError;
use crate::model::{CommunicationSummary, Communications, NoticeDetail, SurveyDetail, SurveyLink};
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use {
    crate::api::{anyone, permitted, signed_in},
    crate::policy::{self, Action},
    crate::server::communications::{self as comms, AudienceForm, NoticeForm, SurveyForm},
    crate::server::{now, request},
};

/// Recent notices and rounds, and the accounts one can address.
#[server(endpoint = "communications/overview")]
pub async fn communications_overview() -> Result<Communications, AppError> {
    permitted(Action::SendCommunications, |state, _| async move {
        comms::overview(&state.db).await
    })
    .await
}

#[cfg(feature = "ssr")]
fn audience(
    audience: Option<String>,
    tier: Option<String>,
    account_ids: Option<Vec<String>>,
) -> AudienceForm {
    AudienceForm {
        audience: audience.unwrap_or_default(),
        tier: tier.unwrap_or_default(),
        account_ids: account_ids.unwrap_or_default(),
    }
}

/// Saves a security notice as a draft and opens it, with its recipients, for checking.
#[server(endpoint = "notices/create")]
#[allow(clippy::too_many_arguments)]
pub async fn create_notice(
    subject: Option<String>,
    severity: Option<String>,
    body: Option<String>,
    audience: Option<String>,
    tier: Option<String>,
    account_ids: Option<Vec<String>>,
    include_admins: Option<String>,
    form_key: Option<String>,
) -> Result<i64, AppError> {
    permitted(Action::SendCommunications, |state, actor| async move {
        let form = NoticeForm {
            form_key,
            subject: subject.unwrap_or_default(),
            body: body.unwrap_or_default(),
            severity: severity.unwrap_or_default(),
            include_admins: include_admins.is_some(),
            audience: self::audience(audience, tier, account_ids),
        };
        let id = comms::create_notice(&state.db, &actor, &form, now()).await?;
        leptos_axum::redirect(&format!("/notices/{id}"));
        Ok(id)
    })
    .await
}

/// A notice: for staff with its audience and delivery, for a recipient the notice itself.
#[server(endpoint = "notices/get")]
pub async fn get_notice(id: i64) -> Result<NoticeDetail, AppError> {
    signed_in(|state, actor| async move {
        let staff = policy::can(&actor, Action::SendCommunications).is_ok();
        if !staff {
            policy::can(&actor, Action::ReadOwnNotices)?;
        }
        comms::notice(&state.db, id, staff, actor.user_id).await
    })
    .await
}

/// Sends a draft notice to the `confirmed` number of recipients its page showed.
#[server(endpoint = "notices/send")]
pub async fn send_notice(id: i64, confirmed: i64) -> Result<usize, AppError> {
    permitted(Action::SendCommunications, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let sent = comms::send_notice(
            &state.db,
            &state.settings,
            &actor,
            id,
            confirmed,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(&format!("/notices/{id}?sent=1"));
        Ok(sent)
    })
    .await
}

/// The notices the signed-in person received.
#[server(endpoint = "notices/mine")]
pub async fn my_notices() -> Result<Vec<CommunicationSummary>, AppError> {
    permitted(Action::ReadOwnNotices, |state, actor| async move {
        comms::received(&state.db, actor.user_id).await
    })
    .await
}

/// Saves a survey round as a draft and opens it, with its recipients, for checking.
#[server(endpoint = "surveys/create")]
pub async fn create_survey(
    name: Option<String>,
    expires_days: Option<String>,
    audience: Option<String>,
    tier: Option<String>,
    account_ids: Option<Vec<String>>,
) -> Result<i64, AppError> {
    permitted(Action::SendCommunications, |state, actor| async move {
        let form = SurveyForm {
            name: name.unwrap_or_default(),
            expires_days: expires_days.unwrap_or_default(),
            audience: self::audience(audience, tier, account_ids),
        };
        let id = comms::create_survey(&state.db, &actor, &form, now()).await?;
        leptos_axum::redirect(&format!("/staff/surveys/{id}"));
        Ok(id)
    })
    .await
}

/// A survey round: its audience while a draft, its report once started.
#[server(endpoint = "surveys/get")]
pub async fn get_survey(id: i64) -> Result<SurveyDetail, AppError> {
    permitted(Action::SendCommunications, |state, _| async move {
        comms::survey(&state.db, id).await
    })
    .await
}

/// Starts a draft round: mails each of the `confirmed` contacts their personal link.
#[server(endpoint = "surveys/start")]
pub async fn start_survey(id: i64, confirmed: i64) -> Result<usize, AppError> {
    permitted(Action::SendCommunications, |state, actor| async move {
        let client_addr = request::current_client_addr(&state)?;
        let sent = comms::start_survey(
            &state.db,
            &state.settings,
            &actor,
            id,
            confirmed,
            &client_addr,
            now(),
        )
        .await?;
        leptos_axum::redirect(&format!("/staff/surveys/{id}?started=1"));
        Ok(sent)
    })
    .await
}

/// What a personal survey link leads to (looking does not use it).
#[server(endpoint = "nps/link")]
pub async fn open_survey_link(t: String) -> Result<SurveyLink, AppError> {
    anyone(|state, actor| async move {
        policy::can_maybe(actor.as_ref(), Action::AnswerSurveyByLink)?;
        comms::link(&state.db, &t, now()).await
    })
    .await
}

/// Answers a survey through a personal link: a score from 0 to 10 and an optional comment.
#[server(endpoint = "nps/answer")]
pub async fn answer_survey(
    t: String,
    score: Option<String>,
    comment: Option<String>,
) -> Result<(), AppError> {
    anyone(|state, actor| async move {
        policy::can_maybe(actor.as_ref(), Action::AnswerSurveyByLink)?;
        comms::answer(
            &state.db,
            &t,
            score.as_deref().unwrap_or(""),
            comment.as_deref().unwrap_or(""),
            now(),
        )
        .await?;
        leptos_axum::redirect(&format!("/nps?t={}&answered=1", t.trim()));
        Ok(())
    })
    .await
}
