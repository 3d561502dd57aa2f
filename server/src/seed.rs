//! Demo data and the first platform admin.

use app::error::AppError;
use app::model::domain::Email;
use app::model::UserStatus;
use app::server::db::{execute, on_tx, Db};
use app::server::users::{self, NewUser};
use app::server::{audit, now, password};

/// The password every demo user signs in with (printed by `seed-demo`).
pub const DEMO_PASSWORD: &str = "Portcullis-Demo-2026";

pub struct DemoUser {
    pub email: &'static str,
    pub first: &'static str,
    pub last: &'static str,
    pub kind: &'static str,
    pub is_admin: bool,
    pub account: Option<&'static str>,
    pub contact: Option<&'static str>,
}

const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("ACME", "Acme Corporation", "managed"),
    ("GLOBEX", "Globex", "self-hosted"),
    ("INITECH", "Initech", "managed"),
];

const fn u(
    email: &'static str,
    first: &'static str,
    last: &'static str,
    kind: &'static str,
    is_admin: bool,
    account: Option<&'static str>,
    contact: Option<&'static str>,
) -> DemoUser {
    DemoUser {
        email,
        first,
        last,
        kind,
        is_admin,
        account,
        contact,
    }
}

pub const DEMO_USERS: &[DemoUser] = &[
    u(
        "platform.admin@vendor.example",
        "Pat",
        "Okafor",
        "platform_admin",
        false,
        None,
        None,
    ),
    u(
        "agent@vendor.example",
        "Alex",
        "Lindqvist",
        "agent",
        false,
        None,
        None,
    ),
    u(
        "admin@acme.example",
        "Ada",
        "Moreno",
        "customer",
        true,
        Some("ACME"),
        Some("primary"),
    ),
    u(
        "secondary@acme.example",
        "Sam",
        "Ito",
        "customer",
        true,
        Some("ACME"),
        Some("secondary"),
    ),
    u(
        "user@acme.example",
        "Uma",
        "Brandt",
        "customer",
        false,
        Some("ACME"),
        None,
    ),
    u(
        "admin@globex.example",
        "Grace",
        "Hollis",
        "customer",
        true,
        Some("GLOBEX"),
        Some("primary"),
    ),
    u(
        "user@globex.example",
        "Gus",
        "Adeyemi",
        "customer",
        false,
        Some("GLOBEX"),
        None,
    ),
    u(
        "admin@initech.example",
        "Ian",
        "Novak",
        "customer",
        true,
        Some("INITECH"),
        Some("primary"),
    ),
    u(
        "user@initech.example",
        "Ivy",
        "Chen",
        "customer",
        false,
        Some("INITECH"),
        None,
    ),
];

pub struct SeedReport {
    pub created_users: usize,
    pub created_accounts: usize,
}

async fn insert_account(
    tx: &mut app::server::db::Tx,
    key: &str,
    name: &str,
    tier: &str,
    now: i64,
) -> Result<i64, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO accounts (name, account_key, service_tier, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id"
    )
    .bind(name)
    .bind(key)
    .bind(tier)
    .bind(now)
    .fetch_one(c)
    .await
    .map_err(AppError::from))
}

/// A demo product catalog (§8): versions, features and services with their compatibility matrix,
/// and the customer-availability windows. Repeatable: existing names are left alone.
async fn seed_catalog(tx: &mut app::server::db::Tx) -> Result<(), AppError> {
    const VERSIONS: [&str; 4] = ["2.28", "2.30", "2.32", "2.34"];
    const FEATURES: [&str; 5] = [
        "Pipelines as Code",
        "Policy Engine",
        "Canary Analysis",
        "Terraform Integration",
        "Dynamic Accounts",
    ];
    const SERVICES: [&str; 5] = ["Deck", "Gate", "Orca", "Clouddriver", "Echo"];
    const WINDOWS: [&str; 5] = [
        "Business hours in our time zone (09:00–17:00, Mon–Fri)",
        "Any time, 24×7",
        "Mornings only (09:00–12:00)",
        "Afternoons only (13:00–17:00)",
        "By appointment (details in the description)",
    ];
    for (i, name) in VERSIONS.iter().enumerate() {
        execute!(tx: tx, sqlx::query(
            "INSERT INTO product_versions (name, sort) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        )
        .bind(*name)
        .bind(i as i32))?;
    }
    for name in FEATURES {
        execute!(tx: tx, sqlx::query("INSERT INTO features (name) VALUES ($1) ON CONFLICT (name) DO NOTHING").bind(name))?;
    }
    for name in SERVICES {
        execute!(tx: tx, sqlx::query("INSERT INTO services (name) VALUES ($1) ON CONFLICT (name) DO NOTHING").bind(name))?;
    }
    for (i, name) in WINDOWS.iter().enumerate() {
        execute!(tx: tx, sqlx::query(
            "INSERT INTO availability_windows (name, sort) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
        )
        .bind(*name)
        .bind(i as i32))?;
    }
    // Every feature in every version, except the two newest features in the oldest versions.
    execute!(tx: tx, sqlx::query(
        "INSERT INTO feature_versions (feature_id, version_id) \
         SELECT f.id, v.id FROM features f CROSS JOIN product_versions v \
         WHERE NOT (f.name IN ('Terraform Integration', 'Dynamic Accounts') AND v.name IN ('2.28', '2.30')) \
         ON CONFLICT DO NOTHING"
    ))?;
    // The demo agents work the group new cases go to, so their "My groups" queue has cases.
    execute!(tx: tx, sqlx::query(
        "INSERT INTO group_members (group_id, user_id) \
         SELECT (SELECT MIN(id) FROM assignment_groups), id FROM users WHERE kind = 'agent' \
         ON CONFLICT DO NOTHING"
    ))?;
    Ok(())
}

/// The first platform admin: the author of demo and generated articles.
pub async fn platform_admin(db: &Db) -> Result<i64, AppError> {
    let id: Option<i64> = app::server::db::on_db!(db, |c| sqlx::query_scalar(
        "SELECT MIN(id) FROM users WHERE kind = 'platform_admin'"
    )
    .fetch_one(c)
    .await)?;
    id.ok_or(AppError::Internal)
}

async fn account_id(tx: &mut app::server::db::Tx, key: &str) -> Result<Option<i64>, AppError> {
    on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT id FROM accounts WHERE account_key = $1"
    )
    .bind(key)
    .fetch_optional(c)
    .await
    .map_err(AppError::from))
}

/// Loads the demo vendor, three customer accounts and users in every role, plus `extra_accounts`
/// generated accounts of `users_per_account` users each (for benchmarks). Safe to run again:
/// what exists is left alone. All generated users share one password hash, so large seeds do not
/// spend minutes in Argon2 (acceptable for demo data only).
pub async fn seed_demo(
    db: &Db,
    extra_accounts: usize,
    users_per_account: usize,
) -> Result<SeedReport, AppError> {
    let hash = password::hash(DEMO_PASSWORD.to_string()).await?;
    let now = now();
    let mut report = SeedReport {
        created_users: 0,
        created_accounts: 0,
    };
    let mut tx = db.begin().await?;
    for (key, name, tier) in ACCOUNTS {
        if account_id(&mut tx, key).await?.is_none() {
            insert_account(&mut tx, key, name, tier, now).await?;
            report.created_accounts += 1;
        }
    }
    for demo in DEMO_USERS {
        let email = Email::parse(demo.email).map_err(|_| AppError::Internal)?;
        if users::credentials_by_email(db, &email).await?.is_some() {
            continue;
        }
        let account = match demo.account {
            Some(key) => account_id(&mut tx, key).await?,
            None => None,
        };
        let id = users::insert(
            &mut tx,
            &NewUser {
                account_id: account,
                email: &email,
                first_name: demo.first,
                last_name: demo.last,
                kind: demo.kind,
                is_admin: demo.is_admin,
                status: UserStatus::Active,
                password_hash: Some(&hash),
                created_by: None,
            },
            now,
        )
        .await?;
        report.created_users += 1;
        if let (Some(account), Some(role)) = (account, demo.contact) {
            let sql = if role == "primary" {
                "UPDATE accounts SET primary_contact_id = $1 WHERE id = $2"
            } else {
                "UPDATE accounts SET secondary_contact_id = $1 WHERE id = $2"
            };
            execute!(tx: &mut tx, sqlx::query(sql)
                .bind(id)
                .bind(account))?;
        }
    }
    seed_catalog(&mut tx).await?;
    tx.commit().await?;
    crate::seed_kb::seed_kb(db, platform_admin(db).await?).await?;

    // Generated accounts: one transaction per account keeps each account whole if interrupted.
    for n in 1..=extra_accounts {
        let key = format!("C{n:06}");
        let mut tx = db.begin().await?;
        if account_id(&mut tx, &key).await?.is_some() {
            continue;
        }
        let tier = if n % 3 == 0 { "self-hosted" } else { "managed" };
        let account = insert_account(&mut tx, &key, &format!("Customer {n:06}"), tier, now).await?;
        report.created_accounts += 1;
        for i in 1..=users_per_account {
            let email = Email::parse(&format!("user{i}@c{n:06}.example"))
                .map_err(|_| AppError::Internal)?;
            users::insert(
                &mut tx,
                &NewUser {
                    account_id: Some(account),
                    email: &email,
                    first_name: "User",
                    last_name: &format!("{i:05}"),
                    kind: "customer",
                    is_admin: i == 1,
                    status: UserStatus::Active,
                    password_hash: Some(&hash),
                    created_by: None,
                },
                now,
            )
            .await?;
            report.created_users += 1;
        }
        tx.commit().await?;
    }
    Ok(report)
}

/// Creates a platform admin (the bootstrap account). The web app has no way to do this.
pub async fn create_admin(
    db: &Db,
    email: &str,
    first: &str,
    last: &str,
    password_plain: &str,
) -> Result<i64, String> {
    let email = Email::parse(email)?;
    password::check_new_password(password_plain, &[email.as_str(), first, last])?;
    let hash = password::hash(password_plain.to_string())
        .await
        .map_err(|e| e.to_string())?;
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    let id = users::insert(
        &mut tx,
        &NewUser {
            account_id: None,
            email: &email,
            first_name: first,
            last_name: last,
            kind: "platform_admin",
            is_admin: false,
            status: UserStatus::Active,
            password_hash: Some(&hash),
            created_by: None,
        },
        now(),
    )
    .await
    .map_err(|e| match e {
        AppError::Validation(errors) => errors
            .into_iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })?;
    let event = audit::Event {
        action: "user.created",
        target: Some(format!("user:{id}")),
        reason: Some("platform admin created with the portcullis create-admin command"),
        after: Some(serde_json::json!({ "email": email.as_str(), "kind": "platform_admin" })),
        ..audit::Event::default()
    };
    audit::append(&mut tx, &event, now())
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(id)
}

/// Generates `count` cases spread over every customer account, for benchmarks (`seed-demo
/// --cases N`): a mix of states, priorities and assignees, created over the past year. One
/// set-based statement per batch of 100,000, each its own transaction, so a million rows load in
/// about a minute and an interrupted load leaves whole batches only. Answers how many were made.
pub async fn seed_cases(db: &Db, count: usize) -> Result<usize, AppError> {
    const BATCH: usize = 100_000;
    let now = now();
    let mut made = 0;
    while made < count {
        let n = BATCH.min(count - made);
        let mut tx = db.begin().await?;
        let start: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT value FROM counters WHERE name = 'case'"
        )
        .fetch_one(c)
        .await)?;
        // Rows n = 1..N: account, contact and catalog entries picked round-robin by n.
        let (series, number) = match db {
            Db::Sqlite(_) => (
                "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $1)",
                "'CS' || printf('%07d', $2 + n)",
            ),
            Db::Postgres(_) => (
                "WITH seq(n) AS (SELECT generate_series(1, $1::bigint))",
                "'CS' || lpad(($2 + n)::text, 7, '0')",
            ),
        };
        let sql = format!(
            "{series}, \
             acc AS MATERIALIZED (SELECT a.id, ROW_NUMBER() OVER (ORDER BY a.id) - 1 AS k \
                     FROM accounts a WHERE EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id AND u.status = 'active')), \
             nacc AS MATERIALIZED (SELECT COUNT(*) AS total FROM acc), \
             agents AS MATERIALIZED (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS k FROM users WHERE kind IN ('agent', 'platform_admin')), \
             nagents AS MATERIALIZED (SELECT COUNT(*) AS total FROM agents), \
             people AS MATERIALIZED (SELECT u.id, u.account_id, \
                     ROW_NUMBER() OVER (PARTITION BY u.account_id ORDER BY u.id) - 1 AS k, \
                     COUNT(*) OVER (PARTITION BY u.account_id) AS total \
                     FROM users u WHERE u.status = 'active' AND u.account_id IS NOT NULL) \
             INSERT INTO cases (number, account_id, contact_id, created_by, on_behalf, product_version_id, impact_id, \
               workaround, feature_id, service_id, environment, availability_id, subject, description, state, \
               priority, assignment_group_id, assigned_to, created_at, updated_at, resolved_at, closed_at, paused_since) \
             SELECT {number}, acc.id, people.id, people.id, FALSE, \
               (SELECT MIN(id) FROM product_versions), (SELECT MIN(id) FROM impact_levels), 'unknown', \
               (SELECT MIN(id) FROM features), (SELECT MIN(id) FROM services), 'Production', \
               (SELECT MIN(id) FROM availability_windows), \
               'Generated case ' || ($2 + n) || ': pipeline ' || (n % 977) || ' fails', \
               'Generated for benchmarks.', \
               CASE n % 10 WHEN 0 THEN 'new' WHEN 1 THEN 'open' WHEN 2 THEN 'awaiting_info' WHEN 3 THEN 'resolved' \
                 ELSE 'closed' END, \
               1 + n % 4, (SELECT MIN(id) FROM assignment_groups), \
               agents.id, \
               $3 - (n * 31) % 31536000, $3 - (n * 31) % 31536000, \
               CASE WHEN n % 10 >= 3 THEN $3 - (n * 31) % 31536000 + 3600 END, \
               CASE WHEN n % 10 >= 4 THEN $3 - (n * 31) % 31536000 + 7200 END, \
               CASE WHEN n % 10 IN (2, 3) THEN $3 - (n * 31) % 31536000 + 3600 END \
             FROM seq CROSS JOIN nacc CROSS JOIN nagents \
             JOIN acc ON acc.k = ($2 + seq.n) % nacc.total \
             JOIN people ON people.account_id = acc.id AND people.k = (($2 + seq.n) / nacc.total) % people.total \
             LEFT JOIN agents ON seq.n % 3 <> 0 AND agents.k = seq.n % nagents.total"
        );
        on_tx!(&mut tx, |c| sqlx::query(&sql)
            .bind(n as i64)
            .bind(start)
            .bind(now)
            .execute(c)
            .await
            .map(|_| ()))?;
        execute!(tx: &mut tx, sqlx::query("UPDATE counters SET value = value + $1 WHERE name = 'case'").bind(n as i64))?;
        // The resolution deadline of the running ones (see `cases::refresh_due`).
        execute!(tx: &mut tx, sqlx::query(
            "UPDATE cases SET due_at = created_at + paused_seconds + \
             (SELECT t.resolution_minutes * 60 FROM sla_targets t WHERE t.priority = cases.priority) \
             WHERE id > (SELECT COALESCE(MAX(id), 0) - $1 FROM cases) AND state IN ('new', 'open') \
             AND paused_since IS NULL AND resolved_at IS NULL"
        )
        .bind(n as i64))?;
        tx.commit().await?;
        made += n;
        tracing::info!(made, "cases generated");
    }
    Ok(made)
}
