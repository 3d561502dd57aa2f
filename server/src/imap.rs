//! The support mailbox, read over IMAP: each new mail is handed to `app::server::inbound` (a
//! comment, held, refused or dropped) and the mailbox's cursor moves past it only then. The
//! reader waits with IDLE (RFC 2177) when the server offers it, else looks every
//! `imap_poll_seconds`; a lost connection is retried with a growing pause. Several instances may
//! read one mailbox: a mail taken twice is one comment (its Message-ID is kept).

use app::server::db::{on_db, Db};
use app::server::{now, AppState, Settings};
use async_imap::extensions::idle::IdleResponse;
use futures::TryStreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

type Session = async_imap::Session<TlsStream<TcpStream>>;

/// The longest pause between two attempts to reach the server.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// Starts the reader when a mailbox is configured.
pub fn spawn(state: &AppState) -> Result<Option<tokio::task::JoinHandle<()>>, crate::BoxError> {
    if state.settings.imap_host.is_empty() {
        return Ok(None);
    }
    let tls = tls_config(&state.settings)?;
    let state = state.clone();
    Ok(Some(tokio::spawn(async move {
        let mut pause = Duration::from_secs(1);
        loop {
            match read_mailbox(&state, tls.clone()).await {
                Ok(()) => pause = Duration::from_secs(1),
                Err(e) => {
                    tracing::warn!(error = %e, host = %state.settings.imap_host, retry_in = ?pause, "the support mailbox cannot be read");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_RETRY);
                }
            }
        }
    })))
}

/// Which certificate authorities vouch for the server: the configured file's, else the web's.
fn tls_config(
    settings: &Settings,
) -> Result<Arc<tokio_rustls::rustls::ClientConfig>, crate::BoxError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    if settings.imap_ca_file.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    } else {
        for cert in CertificateDer::pem_file_iter(&settings.imap_ca_file)
            .map_err(|e| format!("imap_ca_file {}: {e}", settings.imap_ca_file))?
        {
            roots.add(cert.map_err(|e| format!("imap_ca_file {}: {e}", settings.imap_ca_file))?)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn connect(
    settings: &Settings,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<Session, crate::BoxError> {
    let tcp = tokio::time::timeout(
        Duration::from_secs(30),
        TcpStream::connect((settings.imap_host.as_str(), settings.imap_port)),
    )
    .await
    .map_err(|_| "connecting timed out")??;
    let name = rustls_pki_types::ServerName::try_from(settings.imap_host.clone())?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    let mut client = async_imap::Client::new(stream);
    client
        .read_response()
        .await?
        .ok_or("the server closed the connection before greeting")?;
    let session = client
        .login(&settings.imap_user, settings.imap_password.expose())
        .await
        .map_err(|(e, _)| e)?;
    Ok(session)
}

/// One connection's life: take what is new, wait for more, until the connection fails.
async fn read_mailbox(
    state: &AppState,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<(), crate::BoxError> {
    let settings = &state.settings;
    let mut session = connect(settings, tls).await?;
    let idle = session.capabilities().await?.has_str("IDLE");
    let wait = Duration::from_secs(settings.imap_poll_seconds.max(1));
    tracing::info!(host = %settings.imap_host, mailbox = %settings.imap_mailbox, idle, "reading the support mailbox");
    loop {
        take_new(state, &mut session).await?;
        // Notices the server sent meanwhile (new mail, flags) are not needed: the next look
        // asks for everything past the cursor.
        while session.unsolicited_responses.try_recv().is_ok() {}
        if idle {
            let mut handle = session.idle();
            handle.init().await?;
            let (waiting, _stop) = handle.wait_with_timeout(wait);
            match waiting.await? {
                IdleResponse::NewData(_)
                | IdleResponse::Timeout
                | IdleResponse::ManualInterrupt => {}
            }
            session = handle.done().await?;
        } else {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Takes every mail past the cursor, oldest first.
async fn take_new(state: &AppState, session: &mut Session) -> Result<(), crate::BoxError> {
    let settings = &state.settings;
    let mailbox = session.select(&settings.imap_mailbox).await?;
    let validity = i64::from(mailbox.uid_validity.unwrap_or(0));
    let last = cursor(&state.db, &settings.imap_mailbox, validity).await?;
    // `n:*` always names the newest mail, even one below n: keep only those past the cursor.
    let mut uids: Vec<u32> = session
        .uid_search(format!("UID {}:*", last + 1))
        .await?
        .into_iter()
        .filter(|uid| i64::from(*uid) > last)
        .collect();
    uids.sort_unstable();
    let limit = settings.inbound_max_bytes();
    for uid in uids {
        let size = {
            let sizes: Vec<_> = session
                .uid_fetch(uid.to_string(), "RFC822.SIZE")
                .await?
                .try_collect()
                .await?;
            sizes.first().and_then(|f| f.size).map_or(0, u64::from)
        };
        // A mail over the limit is read only as far as it is kept.
        let part = if size > limit {
            "BODY.PEEK[]<0.65536>"
        } else {
            "BODY.PEEK[]"
        };
        let fetched: Vec<_> = session
            .uid_fetch(uid.to_string(), part)
            .await?
            .try_collect()
            .await?;
        let raw = fetched
            .first()
            .and_then(|f| f.body())
            .unwrap_or_default()
            .to_vec();
        let outcome =
            app::server::inbound::receive(state, &raw, size.max(raw.len() as u64), now()).await?;
        tracing::debug!(
            uid,
            verdict = outcome.verdict.as_str(),
            "mailbox message taken"
        );
        move_cursor(&state.db, &settings.imap_mailbox, validity, i64::from(uid)).await?;
        let _: Vec<_> = session
            .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen)")
            .await?
            .try_collect()
            .await?;
    }
    Ok(())
}

/// The highest UID taken from `mailbox`; 0 when it was never read or its UIDVALIDITY changed
/// (its UIDs were renumbered: every mail is looked at again, and those taken before are known by
/// their Message-ID).
async fn cursor(db: &Db, mailbox: &str, validity: i64) -> Result<i64, sqlx::Error> {
    let row: Option<(i64, i64)> = on_db!(db, |c| sqlx::query_as(
        "SELECT uid_validity, last_uid FROM mailbox_cursors WHERE mailbox = $1"
    )
    .bind(mailbox)
    .fetch_optional(c)
    .await)?;
    Ok(match row {
        Some((v, last)) if v == validity => last,
        _ => 0,
    })
}

async fn move_cursor(db: &Db, mailbox: &str, validity: i64, uid: i64) -> Result<(), sqlx::Error> {
    on_db!(db, |c| {
        sqlx::query(
        "INSERT INTO mailbox_cursors (mailbox, uid_validity, last_uid) VALUES ($1, $2, $3) \
         ON CONFLICT (mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, last_uid = excluded.last_uid \
         WHERE mailbox_cursors.uid_validity <> excluded.uid_validity OR mailbox_cursors.last_uid < excluded.last_uid"
    )
    .bind(mailbox)
    .bind(validity)
    .bind(uid)
    .execute(c)
    .await
    .map(|_| ())
    })
}
