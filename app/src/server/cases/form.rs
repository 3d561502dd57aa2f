//! The case form: what it offers (catalog entries, environments, contacts, groups) and checking
//! what was sent.

use super::*;
use crate::model::Workaround;

/// The customer case form as submitted. Ids arrive as text so that an empty choice is an error
/// on its field, not a failed request.
#[derive(Debug, Clone, Default)]
pub struct CaseForm {
    pub contact_id: String,
    pub product_version_id: String,
    pub impact_id: String,
    pub workaround: String,
    pub feature_id: String,
    pub service_id: String,
    pub environment: String,
    pub availability_id: String,
    pub subject: String,
    pub description: String,
    /// The form's idempotency key (see `server::forms`).
    pub form_key: String,
    /// Tokens of the files uploaded for it (see `server::attachments`).
    pub files: Vec<String>,
}

/// The longest subject (SPEC §4.1).
pub const SUBJECT_MAX: usize = 160;
pub(crate) const DESCRIPTION_MAX: usize = 20_000;
pub(crate) const COMMENT_MAX: usize = 20_000;

/// Priority from impact × urgency: the impact's severity (1 = production down), one step lower
/// when a workaround or rollback exists.
pub fn priority(severity: i32, workaround: Workaround) -> i32 {
    (severity + i32::from(workaround == Workaround::Yes)).clamp(1, 4)
}

/// `CS` + 7 digits.
pub fn case_number(value: i64) -> String {
    format!("CS{value:07}")
}

async fn choices(db: &Db, sql: &str) -> Result<Vec<Choice>, AppError> {
    on_db!(db, |c| sqlx::query_as(sql)
        .fetch_all(c)
        .await
        .map_err(AppError::from))
}

/// The active users of `account_id`, as "Name (email)": who can be a case's contact or a change
/// request's requester.
pub(crate) async fn active_users(db: &Db, account_id: i64) -> Result<Vec<Choice>, AppError> {
    on_db!(db, |c| sqlx::query_as(
        "SELECT id, first_name || ' ' || last_name || ' (' || email || ')' AS name FROM users \
         WHERE account_id = $1 AND status = 'active' ORDER BY last_name, first_name, id"
    )
    .bind(account_id)
    .fetch_all(c)
    .await
    .map_err(AppError::from))
}

/// The pick lists of the case form for `account_id`.
#[tracing::instrument(skip_all)]
pub async fn options(db: &Db, account_id: i64, me: Option<i64>) -> Result<CaseOptions, AppError> {
    let account: Option<(String, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT name, environments FROM accounts WHERE id = $1"
    )
    .bind(account_id)
    .fetch_optional(c)
    .await)?;
    let (account_name, environments) = account.ok_or(AppError::NotFound)?;
    let contacts = active_users(db, account_id).await?;
    Ok(CaseOptions {
        account_name,
        me,
        contacts,
        versions: choices(
            db,
            "SELECT id, name FROM product_versions WHERE active ORDER BY sort DESC, name",
        )
        .await?,
        impacts: choices(
            db,
            "SELECT id, name FROM impact_levels WHERE active ORDER BY severity",
        )
        .await?,
        features: choices(
            db,
            "SELECT id, name FROM features WHERE active ORDER BY name",
        )
        .await?,
        services: choices(
            db,
            "SELECT id, name FROM services WHERE active ORDER BY name",
        )
        .await?,
        environments: environments.lines().map(str::to_string).collect(),
        windows: choices(
            db,
            "SELECT id, name FROM availability_windows WHERE active ORDER BY sort, name",
        )
        .await?,
        file_limit: 0,
    })
}

/// The active assignment groups.
#[tracing::instrument(skip_all)]
pub async fn groups(db: &Db) -> Result<Vec<Choice>, AppError> {
    choices(
        db,
        "SELECT id, name FROM assignment_groups WHERE active ORDER BY name",
    )
    .await
}

/// A case form parsed and checked against the account's pick lists and the compatibility matrix:
/// every id is one that was offered, every text trimmed and within its limit, ready to store.
pub(crate) struct NewCase {
    pub(crate) contact_id: i64,
    pub(crate) version_id: i64,
    pub(crate) impact_id: i64,
    pub(crate) severity: i32,
    pub(crate) workaround: Workaround,
    pub(crate) feature_id: i64,
    pub(crate) service_id: i64,
    pub(crate) environment: String,
    pub(crate) availability_id: i64,
    pub(crate) subject: String,
    pub(crate) description: String,
}

pub(crate) fn pick(
    problems: &mut Problems,
    field: &str,
    value: &str,
    list: &[Choice],
    missing: &str,
) -> i64 {
    match value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| list.iter().any(|c| c.id == *id))
    {
        Some(id) => id,
        None => {
            problems.add(field, missing);
            0
        }
    }
}

impl NewCase {
    /// Parses `form` against what `opts` offered; every problem is reported on its field at once.
    pub(crate) async fn parse(
        db: &Db,
        opts: &CaseOptions,
        form: &CaseForm,
    ) -> Result<NewCase, AppError> {
        let mut p = Problems::new();
        let contact_id = pick(
            &mut p,
            "contact_id",
            &form.contact_id,
            &opts.contacts,
            "Choose the contact for this case: an active user of your account",
        );
        let version_id = pick(
            &mut p,
            "product_version_id",
            &form.product_version_id,
            &opts.versions,
            "Choose the product version",
        );
        let impact_id = pick(
            &mut p,
            "impact_id",
            &form.impact_id,
            &opts.impacts,
            "Choose the impact on your business",
        );
        let workaround = Workaround::parse(form.workaround.trim()).unwrap_or_else(|| {
            p.add(
                "workaround",
                "Say whether a workaround or rollback is available: yes, no or unknown",
            );
            Workaround::Unknown
        });
        let feature_id = pick(
            &mut p,
            "feature_id",
            &form.feature_id,
            &opts.features,
            "Choose the feature",
        );
        let service_id = pick(
            &mut p,
            "service_id",
            &form.service_id,
            &opts.services,
            "Choose the service",
        );
        let environment = form.environment.trim().to_string();
        if !opts.environments.iter().any(|e| *e == environment) {
            p.add("environment", "Choose the affected environment");
        }
        let availability_id = pick(
        &mut p,
        "availability_id",
        &form.availability_id,
        &opts.windows,
        "Choose when we can reach you. There is no default: support needs to know when you are available",
    );
        let subject = p.text(
            "subject",
            &form.subject,
            SUBJECT_MAX,
            "Enter a subject",
            format!("The subject must be {SUBJECT_MAX} characters or fewer"),
        );
        let description = p.text(
            "description",
            &form.description,
            DESCRIPTION_MAX,
            "Describe the problem",
            format!("The description must be {DESCRIPTION_MAX} characters or fewer"),
        );
        // The feature must exist in the chosen version (the compatibility matrix).
        if feature_id > 0 && version_id > 0 {
            let offered: i64 = on_db!(db, |c| {
                sqlx::query_scalar(
            "SELECT COUNT(*) FROM feature_versions WHERE feature_id = $1 AND version_id = $2"
        )
        .bind(feature_id)
        .bind(version_id)
        .fetch_one(c)
        .await
            })?;
            if offered == 0 {
                p.add(
                "feature_id",
                "This feature is not available in the chosen version: see the compatibility matrix",
            );
            }
        }
        p.finish()?;
        let severity: i32 = on_db!(db, |c| sqlx::query_scalar(
            "SELECT severity FROM impact_levels WHERE id = $1"
        )
        .bind(impact_id)
        .fetch_one(c)
        .await)?;
        Ok(NewCase {
            contact_id,
            version_id,
            impact_id,
            severity,
            workaround,
            feature_id,
            service_id,
            environment,
            availability_id,
            subject,
            description,
        })
    }
}
