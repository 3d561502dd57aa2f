#![recursion_limit = "512"]
//! `portcullis`: the portal server and its administration commands.

use clap::{Parser, Subcommand};
use server::{config, seed, telemetry};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Portcullis customer support portal"
)]
struct Cli {
    /// TOML configuration file (default: ./portcullis.toml when it exists).
    #[arg(long, global = true, env = "PORTCULLIS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the portal (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create a platform admin: the only way the first one comes to exist.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Platform")]
        first_name: String,
        #[arg(long, default_value = "Administrator")]
        last_name: String,
        /// Generate a strong password and print it instead of prompting for one.
        #[arg(long)]
        generate_password: bool,
    },
    /// Check every audit chain; exits non-zero and names the first broken entry of each broken one.
    VerifyAudit {
        /// Also require every chain to still hold what this signed anchor recorded: finds a chain
        /// rewritten (hashes recomputed) or truncated since the anchor was written.
        #[arg(long)]
        anchor: Option<PathBuf>,
        /// The anchor signer's public key (hex); default: the one of the configured anchor key.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Sign the head of every audit chain with the anchor key (kept outside the database) and write
    /// the anchor file, to be stored where the database's administrators cannot change it.
    AuditAnchor {
        /// Where to write it (default: `audit_anchor_dir`, else the current directory).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Instead: create a new key in this file (never overwritten) and print its public key.
        #[arg(long)]
        generate_key: Option<PathBuf>,
    },
    /// Take one mail from standard input — for a mail server that delivers the support mailbox to
    /// a program — and make it a comment on its case, hold it for staff, refuse it or drop it;
    /// prints the verdict. Exits 75 (try again later) when it could not be decided, so the mail
    /// server keeps the mail and delivers it again.
    ReceiveMail,
    /// List change requests past Awaiting authorization without an authorization record, or whose
    /// record differs from the audit trail's; exits non-zero when there is any.
    VerifyChanges,
    /// Rebuild the search index from the database: this instance's now (when no running portal
    /// holds it), and every running instance's within seconds.
    Reindex,
    /// Load demo data: the vendor, three customer accounts and users in every role.
    SeedDemo {
        /// Also generate this many customer accounts (for benchmarks).
        #[arg(long, default_value_t = 0)]
        accounts: usize,
        /// Users in each generated account.
        #[arg(long, default_value_t = 10)]
        users_per_account: usize,
        /// Also generate this many cases over the customer accounts (for benchmarks).
        #[arg(long, default_value_t = 0)]
        cases: usize,
        /// Also generate this many knowledge-base articles (for benchmarks).
        #[arg(long, default_value_t = 0)]
        kb_articles: usize,
    },
}

/// mimalloc instead of glibc's allocator: glibc gives each thread that allocates an arena of its
/// own (up to eight per core) and keeps freed memory in each, so with a database connection per
/// thread the server's memory grew with its threads rather than its work, and under load a fifth
/// of the CPU went to malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Before the runtime's threads start allocating.
    server::memory::return_freed_memory();
    let sqlite_allocator = server::memory::sqlite_allocations_through_mimalloc();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(start(sqlite_allocator)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start(sqlite_allocator: Result<(), std::os::raw::c_int>) -> ExitCode {
    let cli = Cli::parse();
    let settings = match config::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init_logging(&settings);
    if let Err(code) = sqlite_allocator {
        tracing::warn!(code, "SQLite keeps the C library's allocator");
    }
    match run(cli.command.unwrap_or(Command::Serve), settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: app::server::Settings) -> Result<(), server::BoxError> {
    if let Command::AuditAnchor {
        generate_key: Some(path),
        ..
    } = &command
    {
        let public = server::anchor::generate_key_file(path)?;
        println!(
            "Audit anchor key written to {} (keep it outside the database and its backups).",
            path.display()
        );
        println!("Public key: {}", hex::encode(public.as_bytes()));
        return Ok(());
    }
    let mut settings = settings;
    if !matches!(command, Command::Serve) {
        // Administration commands (seeding a million cases, verifying a long trail) may run
        // statements far longer than any request's.
        settings.statement_timeout_seconds = 0;
    }
    let state = if matches!(command, Command::Serve) {
        server::prepare(settings).await?
    } else {
        server::prepare_for_command(settings).await?
    };
    match command {
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(&state.settings.listen).await?;
            tracing::info!(address = %listener.local_addr()?, engine = state.db.engine(), "Portcullis is listening");
            if !state.settings.metrics_listen.is_empty() {
                let metrics = tokio::net::TcpListener::bind(&state.settings.metrics_listen).await?;
                tracing::info!(address = %metrics.local_addr()?, "metrics are served here only");
                tokio::spawn(server::serve_metrics(metrics));
            }
            let mut background = server::Background::default();
            background.add(server::anchor::spawn_schedule(
                state.db.clone(),
                &state.settings,
            )?);
            background.add(server::spawn_housekeeping(state.clone()));
            background.add(server::spawn_search_feed(state.clone()));
            background.add(server::mailer::spawn(&state)?);
            background.add(server::imports::spawn_worker(&state));
            background.add(server::spawn_scanner(&state));
            background.add(server::imap::spawn(&state)?);
            let served = server::serve(listener, state.clone(), server::shutdown_signal()).await;
            background.stop().await;
            state.db.close().await;
            served?;
        }
        Command::Migrate => println!("Migrations applied ({}).", state.db.engine()),
        Command::ReceiveMail => {
            let limit = state.settings.inbound_max_bytes();
            // Reads a little past the limit: enough to know the mail is too large, never all of
            // a huge one.
            let raw = tokio::task::spawn_blocking(move || {
                use std::io::Read;
                let mut raw = Vec::new();
                std::io::stdin()
                    .lock()
                    .take(limit + 1)
                    .read_to_end(&mut raw)
                    .map(|_| raw)
            })
            .await??;
            let size = raw.len() as u64;
            match app::server::inbound::receive(&state, &raw, size, app::server::now()).await {
                Ok(outcome) => println!(
                    "{}: {}{}",
                    outcome.verdict.as_str(),
                    outcome.reason,
                    outcome.case.map(|n| format!(" ({n})")).unwrap_or_default()
                ),
                Err(e) => {
                    eprintln!("the mail could not be taken now: {e}");
                    // EX_TEMPFAIL (sysexits.h): the mail server delivers it again later.
                    state.db.close().await;
                    std::process::exit(75);
                }
            }
        }
        Command::Reindex => {
            let generation = app::server::search::request_rebuild(&state.db).await?;
            let dir = &state.settings.search_index_dir;
            match app::server::search::SearchIndex::open(dir) {
                Ok(index) => {
                    let done = index.catch_up(&state.db).await?;
                    println!(
                        "Search index in {dir} rebuilt: {} cases, {} articles.",
                        done.cases, done.articles
                    );
                }
                Err(e) => println!(
                    "The search index in {dir} is in use ({e}): the portal using it rebuilds it within seconds."
                ),
            }
            println!(
                "Every running instance on this database rebuilds its index (generation {generation})."
            );
        }
        Command::AuditAnchor { out, .. } => {
            let key = server::anchor::signing_key(&state.settings)?;
            let anchor = server::anchor::make(&state.db, &key, app::server::now()).await?;
            let dir = out.unwrap_or_else(|| {
                PathBuf::from(if state.settings.audit_anchor_dir.is_empty() {
                    "."
                } else {
                    state.settings.audit_anchor_dir.as_str()
                })
            });
            let path = server::anchor::write(&dir, &anchor)?;
            println!(
                "Audit anchor of {} chains written to {}.",
                anchor.anchor.chains.len(),
                path.display()
            );
        }
        Command::VerifyAudit { anchor, public_key } => {
            if let Some(file) = anchor {
                let trusted = match public_key {
                    Some(hex) => server::anchor::public_key(&hex)?,
                    None => server::anchor::signing_key(&state.settings)?.verifying_key(),
                };
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let findings = server::anchor::check(&state.db, &text, &trusted).await?;
                for line in &findings {
                    println!("BROKEN: {line}");
                }
                if !findings.is_empty() {
                    return Err(format!(
                        "{} chains no longer hold what the anchor {} recorded",
                        findings.len(),
                        file.display()
                    )
                    .into());
                }
                println!(
                    "Every chain still holds what the anchor {} recorded.",
                    file.display()
                );
            }
            let report = app::server::audit::verify(&state.db).await?;
            // An authorization record edited behind the portal's back no longer matches the
            // audit trail's copy: that is a break of the trail too.
            let changes = app::server::changes::unauthorized(&state.db).await?;
            for line in &changes {
                println!("BROKEN: change request {line}");
            }
            if !changes.is_empty() {
                return Err(format!(
                    "{} change requests do not match the audit trail",
                    changes.len()
                )
                .into());
            }
            if report.breaks.is_empty() {
                println!(
                    "Audit trail intact: {} entries in {} chains verified.",
                    report.entries, report.chains
                );
            } else {
                for b in &report.breaks {
                    let id = b.id.map(|id| format!(" (row id {id})")).unwrap_or_default();
                    println!(
                        "BROKEN: chain {} at entry {}{id}: {}",
                        b.chain_key, b.seq, b.problem
                    );
                }
                return Err(format!(
                    "{} of {} audit chains are broken",
                    report.breaks.len(),
                    report.chains
                )
                .into());
            }
        }
        Command::VerifyChanges => {
            let broken = app::server::changes::unauthorized(&state.db).await?;
            if broken.is_empty() {
                println!(
                    "Every change request past Awaiting authorization carries its authorization."
                );
            } else {
                for line in &broken {
                    println!("UNAUTHORIZED: {line}");
                }
                return Err(format!(
                    "{} change requests break the chain of authorization",
                    broken.len()
                )
                .into());
            }
        }
        Command::CreateAdmin {
            email,
            first_name,
            last_name,
            generate_password,
        } => {
            let interactive = std::io::IsTerminal::is_terminal(&std::io::stdin());
            let (password, print) = if generate_password || !interactive {
                (generated_password(), true)
            } else {
                let first = rpassword::prompt_password("Password (at least 12 characters): ")?;
                let again = rpassword::prompt_password("Repeat password: ")?;
                if first != again {
                    return Err("the passwords do not match".into());
                }
                (first, false)
            };
            let id =
                seed::create_admin(&state.db, &email, &first_name, &last_name, &password).await?;
            println!("Created platform admin {email} (user {id}).");
            if print {
                println!("Password: {password}");
                println!("Keep it safe: it is not shown again.");
            }
        }
        Command::SeedDemo {
            accounts,
            users_per_account,
            cases,
            kb_articles,
        } => {
            let report = seed::seed_demo(&state.db, accounts, users_per_account).await?;
            if cases > 0 {
                let made = seed::seed_cases(&state.db, cases).await?;
                println!("{made} cases generated.");
            }
            if kb_articles > 0 {
                let author = seed::platform_admin(&state.db).await?;
                let made =
                    server::seed_kb::seed_kb_articles(&state.db, kb_articles, author).await?;
                println!("{made} knowledge-base articles generated.");
            }
            // Bulk-loaded rows want fresh planner statistics before the first page is served.
            state.db.settle().await?;
            println!(
                "Demo data ready: {} accounts and {} users created.",
                report.created_accounts, report.created_users
            );
            println!(
                "Sign in at {} with password {} as:",
                state.settings.public_url,
                seed::DEMO_PASSWORD
            );
            for user in seed::DEMO_USERS {
                let role = match (user.kind, user.is_admin) {
                    ("platform_admin", _) => "platform admin".to_string(),
                    ("agent", _) => "agent".to_string(),
                    (_, true) => format!("customer administrator, {}", user.account.unwrap_or("")),
                    _ => format!("customer user, {}", user.account.unwrap_or("")),
                };
                println!("  {:<32} {role}", user.email);
            }
        }
    }
    Ok(())
}

/// 24 characters from a 56-symbol alphabet without look-alikes: about 139 bits.
fn generated_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..24)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
