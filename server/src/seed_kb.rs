//! Demo knowledge base: categories and a handful of articles in every visibility and state, and
//! (for benchmarks) any number of generated articles.

use app::error::AppError;
use app::server::db::{execute, next_counter, on_db, on_tx, Db, Tx};
use app::server::kb;
use app::server::markdown;

/// An article as seeding stores it: the row and its first version.
struct SeedArticle {
    number: String,
    category_id: i64,
    visibility: &'static str,
    state: &'static str,
    title: String,
    body: String,
    at: i64,
    views: i64,
}

/// Inserts `rows` (at most a few hundred: one statement) with version 1 of each.
async fn insert_articles(tx: &mut Tx, rows: &[SeedArticle], author: i64) -> Result<(), AppError> {
    let first_id: i64 = on_tx!(tx, |c| sqlx::query_scalar(
        "SELECT COALESCE(MAX(id), 0) FROM kb_articles"
    )
    .fetch_one(c)
    .await)?;
    let mut sql = String::from(
        "INSERT INTO kb_articles (number, category_id, visibility, state, title, plain, body, \
         version, latest_version, author_id, created_at, updated_at, published_at, views) VALUES ",
    );
    for i in 0..rows.len() {
        let b = i * 9;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 1, 1, {author}, ${}, ${}, \
             CASE WHEN ${} = 'draft' THEN NULL ELSE ${} END, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 8,
            b + 4,
            b + 8,
            b + 9
        ));
    }
    on_tx!(tx, |c| {
        let mut q = sqlx::query(&sql);
        for r in rows {
            q = q
                .bind(&r.number)
                .bind(r.category_id)
                .bind(r.visibility)
                .bind(r.state)
                .bind(&r.title)
                .bind(markdown::plain_text(&r.body))
                .bind(&r.body)
                .bind(r.at)
                .bind(r.views);
        }
        q.execute(c).await.map(|_| ()).map_err(AppError::from)
    })?;
    execute!(tx: tx, sqlx::query(
        "INSERT INTO kb_versions (article_id, version, title, body, category_id, visibility, \
         action, edited_by, edited_at) SELECT id, 1, title, body, category_id, visibility, \
         CASE WHEN state = 'draft' THEN 'draft' ELSE 'publish' END, author_id, created_at \
         FROM kb_articles WHERE id > $1"
    )
    .bind(first_id))?;
    Ok(())
}

const CATEGORIES: [(&str, &str); 6] = [
    (
        "Getting started",
        "Signing in, your account and how support works",
    ),
    (
        "Pipelines",
        "Building, running and troubleshooting pipelines",
    ),
    (
        "Upgrades and releases",
        "Planning upgrades, release notes and compatibility",
    ),
    (
        "Integrations",
        "Cloud providers, Terraform and notifications",
    ),
    ("Security", "Advisories, credentials and hardening"),
    (
        "Support playbooks",
        "How the support team works cases (internal)",
    ),
];

/// (category, visibility, final state, title, body). Numbers are handed out in this order, so the
/// first article is KB0010001 and the others can cite it.
const ARTICLES: [(usize, &str, &str, &str, &str); 9] = [
    (0, "public", "published", "Reset your portal password",
     "Forgot your password? On the sign-in page choose **Forgot your password?**, enter your work \
      email address and follow the link we mail you. The link works for one hour and only once.\n\n\
      Still no mail after a few minutes? Check your spam folder, then ask one of your company's \
      administrators: they can see whether your account is active on the **Manage Accounts** page."),
    (0, "public", "published", "Who can get access to the support portal",
     "Your company decides. Each customer account has administrators who add and remove the \
      people allowed to open cases. If you need access, ask one of them; the vendor does not add \
      users without your company's authorization.\n\nSee KB0010001 if you already have an account \
      but cannot sign in."),
    (1, "customers", "published", "Pipeline stuck in RUNNING after an Orca restart",
     "## Symptom\n\nAfter Orca restarts, a pipeline execution stays in **RUNNING** and its stages \
      never progress.\n\n## Cause\n\nThe execution's queue message was lost while Orca was down.\n\n\
      ## Fix\n\n1. Open the execution in Deck.\n2. Choose **Cancel execution**.\n3. Re-run the \
      pipeline.\n\nIf executions stall repeatedly, open a case and attach the Orca logs (see \
      KB0010004)."),
    (1, "customers", "published", "Collecting diagnostic logs for a case",
     "Attach logs from the services involved: `orca`, `clouddriver`, `gate` and `echo`.\n\n\
      ```\nkubectl logs deploy/spin-orca --since=2h > orca.log\n```\n\nRemove secrets before \
      sending. Logs from the hour around the failure are usually enough."),
    (2, "customers", "published", "Upgrading from 2.32 to 2.34",
     "Version 2.34 requires **Pipelines as Code** repositories to use the v2 schema. Before \
      upgrading:\n\n- back up the front50 bucket;\n- run the schema check in a staging \
      environment;\n- plan a maintenance window.\n\nManaged customers: raise a change request and \
      we schedule the upgrade with you."),
    (3, "public", "published", "Terraform integration: provider authentication errors",
     "An `error configuring Terraform AWS Provider` message during a Terraform stage means the \
      stage's account has no valid credentials. Check the account in Clouddriver and renew its \
      role session. Canary Analysis and Dynamic Accounts are not affected."),
    (5, "internal", "published", "Triage checklist for Production down cases",
     "1. Call the contact within 15 minutes.\n2. Confirm impact and the environment.\n3. Page the \
      on-call engineer for the service.\n4. Post an update every 30 minutes until resolved."),
    (1, "customers", "draft", "Known issue: stage timeouts after failover",
     "Investigation in progress: stages time out for about ten minutes after a regional \
      failover. A workaround will be published here."),
    (4, "public", "retired", "Enabling TLS 1.0 for legacy webhooks",
     "TLS 1.0 is no longer supported. This article is kept for reference only."),
];

/// Adds the demo categories and, on a knowledge base without articles, the demo articles by
/// platform admin `author`, each with its first version. Demo data is loaded, not authored: it
/// leaves no audit entries in anyone's name. Safe to run again.
pub async fn seed_kb(db: &Db, author: i64) -> Result<(), AppError> {
    for (i, (name, description)) in CATEGORIES.iter().enumerate() {
        execute!(db: db, sqlx::query(
            "INSERT INTO kb_categories (name, description, position) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING"
        )
        .bind(*name)
        .bind(*description)
        .bind(i as i64))?;
    }
    let existing: i64 = on_db!(db, |c| sqlx::query_scalar(
        "SELECT COUNT(*) FROM kb_articles"
    )
    .fetch_one(c)
    .await)?;
    if existing > 0 {
        return Ok(());
    }
    let ids: Vec<(i64, String)> =
        on_db!(db, |c| sqlx::query_as("SELECT id, name FROM kb_categories")
            .fetch_all(c)
            .await)?;
    let now = app::server::now();
    let mut tx = db.begin().await?;
    let mut rows = Vec::new();
    for (i, (category, visibility, state, title, body)) in ARTICLES.into_iter().enumerate() {
        let category_id = ids
            .iter()
            .find(|(_, name)| *name == CATEGORIES[category].0)
            .map(|(id, _)| *id)
            .ok_or(AppError::Internal)?;
        rows.push(SeedArticle {
            number: kb::number(next_counter(&mut tx, "kb").await?),
            category_id,
            visibility,
            state,
            title: title.into(),
            body: body.into(),
            at: now - (ARTICLES.len() - i) as i64 * 86_400,
            views: 0,
        });
    }
    insert_articles(&mut tx, &rows, author).await?;
    tx.commit().await?;
    Ok(())
}

/// Words generated articles are made of: the product's vocabulary, so searches for real terms
/// find many articles, as they would in a large knowledge base.
const VOCABULARY: &[&str] = &[
    "pipeline",
    "stage",
    "execution",
    "deploy",
    "deployment",
    "canary",
    "analysis",
    "rollback",
    "cluster",
    "server",
    "group",
    "account",
    "credentials",
    "role",
    "policy",
    "engine",
    "terraform",
    "provider",
    "webhook",
    "notification",
    "trigger",
    "artifact",
    "manifest",
    "kubernetes",
    "helm",
    "image",
    "docker",
    "registry",
    "timeout",
    "retry",
    "failover",
    "region",
    "latency",
    "memory",
    "cache",
    "redis",
    "sql",
    "database",
    "migration",
    "upgrade",
    "release",
    "version",
    "schema",
    "front50",
    "orca",
    "clouddriver",
    "gate",
    "deck",
    "echo",
    "igor",
    "fiat",
    "kayenta",
    "rosco",
    "bake",
    "template",
    "parameter",
    "expression",
    "spel",
    "secret",
    "vault",
    "token",
    "oauth",
    "saml",
    "ldap",
    "login",
    "session",
    "permission",
    "application",
    "project",
    "task",
    "queue",
    "message",
    "thread",
    "error",
    "exception",
    "warning",
    "log",
    "metric",
    "alert",
    "dashboard",
    "performance",
    "capacity",
    "scaling",
    "autoscaling",
    "instance",
    "node",
    "pod",
    "container",
    "network",
    "proxy",
    "certificate",
    "tls",
    "dns",
    "load",
    "balancer",
    "health",
    "check",
    "configuration",
    "setting",
    "property",
    "profile",
    "environment",
    "production",
    "staging",
    "backup",
    "restore",
    "snapshot",
    "bucket",
    "storage",
    "s3",
    "gcs",
    "azure",
    "aws",
    "gcp",
    "lambda",
    "function",
    "service",
    "endpoint",
    "api",
    "request",
    "response",
    "header",
    "limit",
    "quota",
    "throttle",
    "audit",
    "compliance",
    "report",
    "export",
    "import",
    "plugin",
    "extension",
    "integration",
    "jenkins",
    "github",
    "gitlab",
    "bitbucket",
    "slack",
    "email",
    "pagerduty",
    "jira",
    "approval",
    "judgment",
    "manual",
    "automated",
    "schedule",
    "cron",
    "window",
    "maintenance",
    "outage",
    "incident",
    "recovery",
    "stuck",
    "running",
    "failed",
    "succeeded",
    "cancelled",
    "paused",
    "resume",
    "restart",
    "crash",
    "leak",
    "slow",
    "hang",
];

const FILLER: &[&str] = &[
    "the", "a", "when", "after", "before", "with", "without", "in", "on", "for", "to", "of", "and",
    "or", "is", "are", "may", "can", "should", "not", "then", "if", "this", "that", "your",
];

/// A small deterministic generator (xorshift), so a seed gives the same articles every time.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A vocabulary word, the first ones far more often than the last (roughly Zipf).
    fn term(&mut self) -> &'static str {
        let r = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let i = ((VOCABULARY.len() as f64).powf(r) - 1.0) as usize;
        VOCABULARY[i.min(VOCABULARY.len() - 1)]
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut out = Vec::with_capacity(words);
        for i in 0..words {
            if i % 3 == 1 {
                out.push(FILLER[(self.next() % FILLER.len() as u64) as usize]);
            } else {
                out.push(self.term());
            }
        }
        let mut s = out.join(" ");
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        s
    }
}

/// Generates `count` articles (for benchmarks): about 150 words each over the product's
/// vocabulary, a third in each visibility, nineteen in twenty published, each with its version.
pub async fn seed_kb_articles(db: &Db, count: usize, author: i64) -> Result<usize, AppError> {
    const BATCH: usize = 500;
    let categories: Vec<i64> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT id FROM kb_categories ORDER BY id"
    )
    .fetch_all(c)
    .await)?;
    if categories.is_empty() {
        return Err(AppError::Internal);
    }
    let now = app::server::now();
    let mut made = 0;
    while made < count {
        let mut tx = db.begin().await?;
        let start: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT value FROM counters WHERE name = 'kb'"
        )
        .fetch_one(c)
        .await)?;
        let n = BATCH.min(count - made);
        let mut rows = Vec::with_capacity(n);
        for i in 1..=n as i64 {
            let seq = start + i;
            let mut words = Words(0x9E37_79B9_7F4A_7C15 ^ (seq as u64).wrapping_mul(0x2545_F491));
            let title = words.sentence(6);
            let body = (0..3)
                .map(|_| format!("{}.", words.sentence(50)))
                .collect::<Vec<_>>()
                .join("\n\n");
            rows.push(SeedArticle {
                number: kb::number(seq),
                category_id: categories[(seq as usize) % categories.len()],
                visibility: ["public", "customers", "internal"][(seq % 3) as usize],
                state: match seq % 20 {
                    0 => "draft",
                    1 => "retired",
                    _ => "published",
                },
                title,
                body,
                at: now - (count as i64 - made as i64 - i) * 60,
                views: (seq * 7919) % 5000,
            });
        }
        insert_articles(&mut tx, &rows, author).await?;
        execute!(tx: &mut tx, sqlx::query("UPDATE counters SET value = value + $1 WHERE name = 'kb'").bind(n as i64))?;
        tx.commit().await?;
        made += n;
        if made % 10_000 == 0 {
            tracing::info!(made, "knowledge-base articles generated");
        }
    }
    Ok(made)
}
