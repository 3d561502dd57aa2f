//! Attachments (files on cases): receiving an upload as it streams in, the file store that keeps
//! the bytes under their SHA-256, attaching staged files to what a form creates, listing a case's
//! files for whoever may see them, removal with its evidence, and collecting bytes nothing refers
//! to any more.
//!
//! The bytes are written to a staging object while they arrive (never held whole in memory) and
//! moved under `blobs/` by the transaction that records them, holding the blob row's lock; the
//! collector deletes bytes under the same lock. So a file is recorded only once it is whole, a
//! killed upload leaves no row, and bytes that an attachment still refers to are never deleted.

use super::db::{execute, on_db, on_tx, Db, Tx};
use super::state::Settings;
use crate::error::AppError;
use crate::model::attachments::{display_name, human_size, Attachment, ScanState};
use crate::model::Actor;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Raster image types a browser may show inline; every other file is only ever downloaded.
pub const INLINE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// At most this many files go with one form.
pub const MAX_FILES_PER_FORM: usize = 20;
/// Staged files not attached to anything within this long are dropped.
pub const STAGED_KEPT_SECONDS: i64 = 86_400;
/// Enough of a file's beginning to tell its type.
const SNIFF_BYTES: usize = 8192;
/// How many parts of one upload may be on their way to the store at once (see
/// `FileStore::part_size`): what an upload holds in memory.
const PARTS_IN_FLIGHT: usize = 2;

/// Where the bytes live: a local directory or an S3-compatible bucket (`object_store` gives both
/// one interface).
#[derive(Clone)]
pub struct FileStore {
    store: Arc<dyn ObjectStore>,
    /// "local" or "s3", for logs and the health page.
    pub kind: &'static str,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileStore({})", self.kind)
    }
}

impl FileStore {
    /// The store the settings name: the S3 bucket when `attachments_s3_bucket` is set, otherwise
    /// the directory `attachments_dir` (created when missing).
    pub fn from_settings(settings: &Settings) -> Result<FileStore, String> {
        if !settings.attachments_s3_bucket.is_empty() {
            let mut builder = object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(&settings.attachments_s3_bucket)
                .with_region(&settings.attachments_s3_region)
                .with_access_key_id(settings.attachments_s3_access_key.expose())
                .with_secret_access_key(settings.attachments_s3_secret_key.expose());
            if !settings.attachments_s3_endpoint.is_empty() {
                builder = builder
                    .with_endpoint(&settings.attachments_s3_endpoint)
                    .with_virtual_hosted_style_request(false)
                    .with_allow_http(settings.attachments_s3_endpoint.starts_with("http://"));
            }
            let store = builder
                .build()
                .map_err(|e| format!("the S3 attachment store is misconfigured: {e}"))?;
            return Ok(FileStore {
                store: Arc::new(store),
                kind: "s3",
            });
        }
        FileStore::local(&settings.attachments_dir)
    }

    /// A store in directory `dir`.
    pub fn local(dir: &str) -> Result<FileStore, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("the attachment directory {dir} cannot be created: {e}"))?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| format!("the attachment directory {dir} cannot be used: {e}"))?;
        Ok(FileStore {
            store: Arc::new(store),
            kind: "local",
        })
    }

    /// The bytes of blob `sha256` (those of `range` only, when given), as a stream.
    pub async fn open(
        &self,
        sha256: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<impl Stream<Item = Result<Bytes, object_store::Error>> + Send + 'static, AppError>
    {
        let options = object_store::GetOptions {
            range: range.map(object_store::GetRange::Bounded),
            ..Default::default()
        };
        let got = self
            .store
            .get_opts(&blob_path(sha256), options)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, sha256, "an attachment's bytes cannot be read");
                AppError::Internal
            })?;
        Ok(got.into_stream())
    }

    /// How much of an upload is gathered before it is written: S3 takes parts of 5 MB at least;
    /// a directory takes smaller ones, so an upload holds less memory.
    fn part_size(&self) -> usize {
        if self.kind == "s3" {
            5 * 1024 * 1024
        } else {
            1024 * 1024
        }
    }

    /// Whether blob `sha256`'s bytes are in the store.
    pub async fn holds(&self, sha256: &str) -> bool {
        self.store.head(&blob_path(sha256)).await.is_ok()
    }

    async fn remove(&self, path: &StorePath) -> Result<(), AppError> {
        match self.store.delete(path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, %path, "an object cannot be deleted from the file store");
                Err(AppError::Internal)
            }
        }
    }

    /// Deletes staging objects older than `before` (uploads a killed process never finished).
    pub async fn sweep_staging(&self, before: i64) -> Result<usize, AppError> {
        let prefix = StorePath::from("staging");
        let mut listed = self.store.list(Some(&prefix));
        let mut stale = Vec::new();
        while let Some(meta) = listed.next().await {
            match meta {
                Ok(meta) if meta.last_modified.timestamp() < before => stale.push(meta.location),
                Ok(_) => {}
                Err(object_store::Error::NotFound { .. }) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "the staging area of the file store cannot be listed");
                    break;
                }
            }
        }
        for path in &stale {
            self.remove(path).await?;
        }
        Ok(stale.len())
    }
}

fn blob_path(sha256: &str) -> StorePath {
    StorePath::from(format!("blobs/{}/{}/{sha256}", &sha256[..2], &sha256[2..4]))
}

/// The type of a file whose content begins with `head`: what its magic bytes say, else plain text
/// when it reads as UTF-8, else `application/octet-stream`.
pub fn sniff(head: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    let text = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A character cut at the end of the sniffed part is still text.
        Err(e) => e.error_len().is_none() && e.valid_up_to() + 4 > head.len(),
    };
    if text && !head.contains(&0) {
        "text/plain"
    } else {
        "application/octet-stream"
    }
}

/// Whether a file of `content_type` may be shown inline.
pub fn inline(content_type: &str) -> bool {
    INLINE_TYPES.contains(&content_type)
}

/// Why an upload was not kept.
#[derive(Debug)]
pub enum UploadError {
    /// Over `limit` bytes.
    TooLarge {
        limit: u64,
    },
    Empty,
    /// The connection broke off before the file was whole.
    Interrupted,
    Store,
}

impl UploadError {
    /// What the person is told.
    pub fn message(&self, name: &str) -> String {
        match self {
            UploadError::TooLarge { limit } => format!(
                "{name} is larger than the {} a file may be here",
                human_size(*limit as i64)
            ),
            UploadError::Empty => format!("{name} is empty"),
            UploadError::Interrupted => {
                format!("{name} did not arrive whole: the upload was cut off. Try again.")
            }
            UploadError::Store => {
                format!("{name} could not be stored just now. Try again in a moment.")
            }
        }
    }
}

/// A file received whole into the staging area, not yet recorded.
#[derive(Debug)]
pub struct Received {
    staging: StorePath,
    pub file_name: String,
    pub sha256: String,
    pub size: i64,
    pub content_type: &'static str,
}

impl Received {
    /// Drops the staged bytes (the file was refused after all).
    pub async fn discard(self, files: &FileStore) {
        let _ = files.remove(&self.staging).await;
    }
}

/// Receives one file from `chunks` into the staging area, hashing and sniffing it on the way, and
/// refusing it (nothing kept) past `limit` bytes or when empty.
pub async fn receive<S, E>(
    files: &FileStore,
    sent_name: &str,
    mut chunks: S,
    limit: u64,
) -> Result<Received, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let staging = StorePath::from(format!("staging/{}", super::session::new_token()));
    let upload = files.store.put_multipart(&staging).await.map_err(|e| {
        tracing::error!(error = %e, "the file store refused a new upload");
        UploadError::Store
    })?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, files.part_size());
    let mut hasher = Sha256::new();
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut size: u64 = 0;
    let failed = loop {
        let chunk = match chunks.next().await {
            None => break None,
            Some(Ok(chunk)) => chunk,
            Some(Err(e)) => {
                tracing::info!(error = %e, "an upload broke off");
                break Some(UploadError::Interrupted);
            }
        };
        size += chunk.len() as u64;
        if size > limit {
            break Some(UploadError::TooLarge { limit });
        }
        if head.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(&chunk);
        if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            tracing::error!(error = %e, "writing an upload to the file store failed");
            break Some(UploadError::Store);
        }
        writer.write(&chunk);
    };
    let failed = failed.or((size == 0).then_some(UploadError::Empty));
    if let Some(reason) = failed {
        let _ = writer.abort().await;
        let _ = files.remove(&staging).await;
        return Err(reason);
    }
    if let Err(e) = writer.finish().await {
        tracing::error!(error = %e, "finishing an upload in the file store failed");
        let _ = files.remove(&staging).await;
        return Err(UploadError::Store);
    }
    Ok(Received {
        staging,
        file_name: display_name(sent_name),
        sha256: hex::encode(hasher.finalize()),
        size: size as i64,
        content_type: sniff(&head),
    })
}

/// What a recorded file is attached to.
#[derive(Debug, Clone, Copy)]
pub enum Parent {
    /// Nothing yet: waiting for the form it was uploaded for.
    Staged,
    Case {
        case_id: i64,
        entry_id: Option<i64>,
        internal: bool,
    },
    Change {
        change_id: i64,
    },
    Article {
        article_id: i64,
    },
}

/// Records received file `file` as uploaded by `actor` and attached to `parent`, in `tx`, moving
/// its bytes into place (or dropping them when the same content is stored already). Answers its
/// token.
pub async fn record(
    tx: &mut Tx,
    files: &FileStore,
    scanning: bool,
    actor: &Actor,
    file: Received,
    parent: Parent,
    now: i64,
) -> Result<String, AppError> {
    let scan = if scanning {
        ScanState::Pending
    } else {
        ScanState::Unscanned
    };
    let inserted = execute!(tx: &mut *tx, sqlx::query(
        "INSERT INTO blobs (sha256, size, content_type, scan, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (sha256) DO NOTHING"
    )
    .bind(&file.sha256)
    .bind(file.size)
    .bind(file.content_type)
    .bind(scan.as_str())
    .bind(now))?;
    // Holding the blob row's lock: the collector cannot delete these bytes meanwhile.
    let lock = tx.for_update();
    let present: Option<String> = on_tx!(&mut *tx, |c| sqlx::query_scalar(&format!(
        "SELECT sha256 FROM blobs WHERE sha256 = $1 {lock}"
    ))
    .bind(&file.sha256)
    .fetch_optional(c)
    .await)?;
    if present.is_none() {
        return Err(AppError::Internal);
    }
    let token = super::session::new_token();
    let (case_id, entry_id, internal, change_id, article_id) = match parent {
        Parent::Staged => (None, None, false, None, None),
        Parent::Case {
            case_id,
            entry_id,
            internal,
        } => (Some(case_id), entry_id, internal, None, None),
        Parent::Change { change_id } => (None, None, false, Some(change_id), None),
        Parent::Article { article_id } => (None, None, false, None, Some(article_id)),
    };
    execute!(tx: &mut *tx, sqlx::query(
        "INSERT INTO attachments (token, sha256, file_name, uploaded_by, uploaded_at, case_id, entry_id, internal, \
         change_id, article_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    )
    .bind(&token)
    .bind(&file.sha256)
    .bind(&file.file_name)
    .bind(actor.user_id)
    .bind(now)
    .bind(case_id)
    .bind(entry_id)
    .bind(internal)
    .bind(change_id)
    .bind(article_id))?;
    let target = blob_path(&file.sha256);
    let moved = if inserted == 1 || !files.holds(&file.sha256).await {
        files.store.rename(&file.staging, &target).await
    } else {
        files.store.delete(&file.staging).await
    };
    moved.map_err(|e| {
        tracing::error!(error = %e, "an upload cannot be moved into the file store");
        AppError::Internal
    })?;
    Ok(token)
}

/// Drops the staged bytes of `received` (files refused after all).
pub async fn discard_all(files: &FileStore, received: Vec<Received>) {
    for file in received {
        file.discard(files).await;
    }
}

/// The activity line for files added on their own: "Attached a.log (1.0 KB)", or "Attached 3
/// files: …".
pub fn attached_line(received: &[Received]) -> String {
    let names: Vec<String> = received
        .iter()
        .map(|f| format!("{} ({})", f.file_name, human_size(f.size)))
        .collect();
    match names.as_slice() {
        [one] => format!("Attached {one}"),
        many => format!("Attached {} files: {}", many.len(), many.join(", ")),
    }
}

/// Records files `received` on `owner` in `tx`, each with its audit entry; answers their tokens.
pub async fn record_all(
    tx: &mut Tx,
    state: &super::state::AppState,
    actor: &Actor,
    received: Vec<Received>,
    owner: Owner<'_>,
    client_addr: &str,
    now: i64,
) -> Result<Vec<String>, AppError> {
    let parent = match owner {
        Owner::Case {
            id,
            entry_id,
            internal,
            ..
        } => Parent::Case {
            case_id: id,
            entry_id,
            internal,
        },
        Owner::Change { id, .. } => Parent::Change { change_id: id },
        Owner::Article { id, .. } => Parent::Article { article_id: id },
    };
    let scanning = state.settings.scanning();
    let mut tokens = Vec::new();
    for file in received {
        let (name, sha256, size) = (file.file_name.clone(), file.sha256.clone(), file.size);
        tokens.push(record(tx, &state.files, scanning, actor, file, parent, now).await?);
        audit_added(tx, actor, &owner, (&name, &sha256, size), client_addr, now).await?;
    }
    Ok(tokens)
}

/// The tokens of staged files a form carries (its hidden `attachments` field: tokens separated by
/// spaces or commas). Anything that is not a token is refused.
pub fn parse_tokens(field: &str) -> Result<Vec<String>, AppError> {
    let tokens: Vec<String> = field
        .split([' ', ',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let well_formed = |t: &String| {
        t.len() == 43
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !tokens.iter().all(well_formed) {
        return Err(AppError::field(
            "attachments",
            "A file could not be matched to this form: attach it again",
        ));
    }
    if tokens.len() > MAX_FILES_PER_FORM {
        return Err(AppError::field(
            "attachments",
            format!("Attach at most {MAX_FILES_PER_FORM} files at once"),
        ));
    }
    Ok(tokens)
}

/// What staged files are attached to by the form that carried them.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// A case (its id, number and account), with the comment or note `entry_id` (`None`: the case
    /// itself), staff only when `internal`.
    Case {
        id: i64,
        number: &'a str,
        account_id: i64,
        entry_id: Option<i64>,
        internal: bool,
    },
    /// A change request (its id, number and account).
    Change {
        id: i64,
        number: &'a str,
        account_id: i64,
    },
    /// A knowledge-base article (its id and number).
    Article { id: i64, number: &'a str },
}

impl Owner<'_> {
    /// Its name in the audit trail.
    fn target(&self) -> String {
        match self {
            Owner::Case { number, .. } => format!("case:{number}"),
            Owner::Change { number, .. } => format!("change:{number}"),
            Owner::Article { number, .. } => number.to_string(),
        }
    }

    fn account_id(&self) -> Option<i64> {
        match self {
            Owner::Case { account_id, .. } | Owner::Change { account_id, .. } => Some(*account_id),
            Owner::Article { .. } => None,
        }
    }

    /// Its row, as the `(case_id, change_id, article_id)` columns of an attachment.
    fn columns(&self) -> (Option<i64>, Option<i64>, Option<i64>) {
        match self {
            Owner::Case { id, .. } => (Some(*id), None, None),
            Owner::Change { id, .. } => (None, Some(*id), None),
            Owner::Article { id, .. } => (None, None, Some(*id)),
        }
    }
}

/// Attaches `actor`'s staged files `tokens` to `owner` in `tx`, with an audit entry each, refusing
/// the lot when one is not `actor`'s staged file any more or when the owner would hold more than
/// `limit` bytes. Answers how many were attached.
pub async fn claim(
    tx: &mut Tx,
    actor: &Actor,
    tokens: &[String],
    owner: Owner<'_>,
    limit: u64,
    client_addr: &str,
    now: i64,
) -> Result<usize, AppError> {
    let (entry_id, internal) = match owner {
        Owner::Case {
            entry_id, internal, ..
        } => (entry_id, internal),
        _ => (None, false),
    };
    let (case_id, change_id, article_id) = owner.columns();
    for token in tokens {
        let row: Option<(String, String, i64)> = on_tx!(&mut *tx, |c| {
            sqlx::query_as(
            "UPDATE attachments SET case_id = $1, entry_id = $2, internal = $3, change_id = $4, article_id = $7 \
             WHERE token = $5 AND uploaded_by = $6 AND case_id IS NULL AND change_id IS NULL \
             AND article_id IS NULL AND removed_at IS NULL \
             RETURNING file_name, sha256, (SELECT b.size FROM blobs b WHERE b.sha256 = attachments.sha256)"
        )
        .bind(case_id)
        .bind(entry_id)
        .bind(internal)
        .bind(change_id)
        .bind(token)
        .bind(actor.user_id)
        .bind(article_id)
        .fetch_optional(c)
        .await
        })?;
        let Some((name, sha256, size)) = row else {
            return Err(AppError::field(
                "attachments",
                "A file you attached is no longer waiting for this form: attach it again",
            ));
        };
        audit_added(tx, actor, &owner, (&name, &sha256, size), client_addr, now).await?;
    }
    if !tokens.is_empty() {
        let total: Option<i64> = on_tx!(&mut *tx, |c| sqlx::query_scalar(HELD_BYTES)
            .bind(case_id)
            .bind(change_id)
            .bind(article_id)
            .fetch_one(c)
            .await)?;
        if total.unwrap_or(0).max(0) as u64 > limit {
            return Err(too_much(limit));
        }
    }
    Ok(tokens.len())
}

/// The bytes of the live files of a case ($1), a change request ($2) or an article ($3).
const HELD_BYTES: &str = "SELECT CAST(SUM(b.size) AS BIGINT) FROM attachments a \
     JOIN blobs b ON b.sha256 = a.sha256 WHERE a.removed_at IS NULL \
     AND (a.case_id = $1 OR a.change_id = $2 OR a.article_id = $3)";

fn too_much(limit: u64) -> AppError {
    AppError::field(
        "attachments",
        format!(
            "A case holds at most {} of files; remove some or send a smaller file",
            human_size(limit as i64)
        ),
    )
}

/// Refuses (a validation error on `attachments`) when case `case_id` holds more than `limit`
/// bytes of files with `extra` bytes more.
pub async fn check_case_total(
    tx: &mut Tx,
    case_id: i64,
    limit: u64,
    extra: i64,
) -> Result<(), AppError> {
    check_total(tx, (Some(case_id), None), limit, extra).await
}

/// The same for the files of a case (`owner.0`) or a change request (`owner.1`).
pub async fn check_total(
    tx: &mut Tx,
    owner: (Option<i64>, Option<i64>),
    limit: u64,
    extra: i64,
) -> Result<(), AppError> {
    let total: Option<i64> = on_tx!(&mut *tx, |c| sqlx::query_scalar(HELD_BYTES)
        .bind(owner.0)
        .bind(owner.1)
        .bind(None::<i64>)
        .fetch_one(c)
        .await)?;
    if (total.unwrap_or(0) + extra).max(0) as u64 > limit {
        return Err(too_much(limit));
    }
    Ok(())
}

/// How many bytes the case (`owner.0`) or change request (`owner.1`) may still take.
pub async fn room(db: &Db, owner: (Option<i64>, Option<i64>), limit: u64) -> Result<u64, AppError> {
    let total: Option<i64> = on_db!(db, |c| sqlx::query_scalar(HELD_BYTES)
        .bind(owner.0)
        .bind(owner.1)
        .bind(None::<i64>)
        .fetch_one(c)
        .await)?;
    Ok(limit.saturating_sub(total.unwrap_or(0).max(0) as u64))
}

/// How many bytes `user_id` may still stage ahead of forms, of `limit` in all.
pub async fn staged_room(db: &Db, user_id: i64, limit: u64) -> Result<u64, AppError> {
    let total: Option<i64> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT CAST(SUM(b.size) AS BIGINT) FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 \
         WHERE a.uploaded_by = $1 AND a.case_id IS NULL AND a.change_id IS NULL \
         AND a.article_id IS NULL AND a.removed_at IS NULL"
    )
    .bind(user_id)
    .fetch_one(c)
    .await
    })?;
    Ok(limit.saturating_sub(total.unwrap_or(0).max(0) as u64))
}

/// The audit entry of a file attached to `owner`.
pub async fn audit_added(
    tx: &mut Tx,
    actor: &Actor,
    owner: &Owner<'_>,
    file: (&str, &str, i64),
    client_addr: &str,
    now: i64,
) -> Result<(), AppError> {
    let (name, sha256, size) = file;
    let internal = matches!(owner, Owner::Case { internal: true, .. });
    let event = super::audit::Event {
        account_id: owner.account_id(),
        target: Some(owner.target()),
        after: Some(serde_json::json!({
            "file": name, "sha256": sha256, "size": size, "internal": internal,
        })),
        ..super::audit::Event::by(actor, "attachment.added", client_addr)
    };
    super::audit::append(tx, &event, now).await
}

/// A case's files that `viewer` may see (`with_internal`: staff), oldest first, each marked
/// removable when `viewer` may remove it.
pub async fn for_case(
    db: &Db,
    case_id: i64,
    viewer: &Actor,
    with_internal: bool,
) -> Result<Vec<Attachment>, AppError> {
    listed(db, "a.case_id = $1", case_id, Some(viewer), with_internal).await
}

/// A change request's files, for `viewer` (who may see the request).
pub async fn for_change(
    db: &Db,
    change_id: i64,
    viewer: &Actor,
) -> Result<Vec<Attachment>, AppError> {
    listed(db, "a.change_id = $1", change_id, Some(viewer), false).await
}

/// An article's files, for `viewer` (who may read the article; `None`: a visitor).
pub async fn for_article(
    db: &Db,
    article_id: i64,
    viewer: Option<&Actor>,
) -> Result<Vec<Attachment>, AppError> {
    listed(db, "a.article_id = $1", article_id, viewer, false).await
}

/// Whether staff have written to the case or change request since the file was uploaded (then
/// its uploader may no longer take it back): SQL over `a` (attachments).
const ANSWERED: &str = "(EXISTS (SELECT 1 FROM case_entries e JOIN users s ON s.id = e.author_id \
     WHERE e.case_id = a.case_id AND e.kind = 'comment' AND s.account_id IS NULL AND e.at >= a.uploaded_at) \
     OR EXISTS (SELECT 1 FROM change_entries e JOIN users s ON s.id = e.author_id \
     WHERE e.change_id = a.change_id AND s.account_id IS NULL AND e.at >= a.uploaded_at))";

async fn listed(
    db: &Db,
    owner: &str,
    owner_id: i64,
    viewer: Option<&Actor>,
    with_internal: bool,
) -> Result<Vec<Attachment>, AppError> {
    let sql = format!(
        "SELECT a.token, a.file_name, b.size, b.content_type, b.scan, \
         u.first_name || ' ' || u.last_name AS uploaded_by, a.uploaded_at, a.entry_id, a.internal, \
         a.uploaded_by AS uploader_id, {ANSWERED} AS answered \
         FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 JOIN users u ON u.id = a.uploaded_by \
         WHERE {owner} AND a.removed_at IS NULL AND ($2 OR NOT a.internal) ORDER BY a.id"
    );
    let rows: Vec<AttachmentRow> = on_db!(db, |c| sqlx::query_as(&sql)
        .bind(owner_id)
        .bind(with_internal)
        .fetch_all(c)
        .await)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut a = r.attachment;
            a.removable = viewer.is_some_and(|viewer| {
                crate::policy::may_remove_file(viewer, r.uploader_id, r.answered).is_ok()
            });
            a
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    #[sqlx(flatten)]
    attachment: Attachment,
    uploader_id: i64,
    answered: bool,
}

/// What deciding on a download needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub sha256: String,
    pub file_name: String,
    pub size: i64,
    pub content_type: String,
    #[sqlx(try_from = "String")]
    pub scan: ScanState,
    pub uploaded_by: i64,
    pub internal: bool,
    /// The account of its case or change request; `None` while staged.
    pub account_id: Option<i64>,
    pub case_id: Option<i64>,
    pub case_number: Option<String>,
    pub change_id: Option<i64>,
    pub change_number: Option<String>,
    pub article_number: Option<String>,
    /// The article's visibility and state.
    pub article_visibility: Option<String>,
    pub article_state: Option<String>,
    /// Whether vendor staff have commented on the case since it was uploaded.
    pub answered: bool,
}

impl Stored {
    /// Who may see it, for the policy module.
    pub fn scope(&self) -> crate::policy::FileScope {
        crate::policy::FileScope {
            account_id: self.account_id,
            uploaded_by: self.uploaded_by,
            internal: self.internal,
            article: self.article_number.as_ref().map(|_| {
                let visibility = self
                    .article_visibility
                    .as_deref()
                    .and_then(crate::model::kb::KbVisibility::parse)
                    // An unknown visibility is the narrowest.
                    .unwrap_or(crate::model::kb::KbVisibility::Internal);
                (
                    visibility,
                    self.article_state.as_deref() == Some("published"),
                )
            }),
        }
    }
}

/// The live (not removed) attachment `token`.
pub async fn find(db: &Db, token: &str) -> Result<Option<Stored>, AppError> {
    let sql = format!(
        "SELECT a.sha256, a.file_name, b.size, b.content_type, b.scan, a.uploaded_by, a.internal, \
         COALESCE(c.account_id, r.account_id) AS account_id, a.case_id, c.number AS case_number, \
         a.change_id, r.number AS change_number, k.number AS article_number, \
         k.visibility AS article_visibility, k.state AS article_state, {ANSWERED} AS answered \
         FROM attachments a JOIN blobs b ON b.sha256 = a.sha256 LEFT JOIN cases c ON c.id = a.case_id \
         LEFT JOIN change_requests r ON r.id = a.change_id LEFT JOIN kb_articles k ON k.id = a.article_id \
         WHERE a.token = $1 AND a.removed_at IS NULL"
    );
    Ok(on_db!(db, |c| sqlx::query_as(&sql)
        .bind(token)
        .fetch_optional(c)
        .await)?)
}

/// Removes attachment `token` for `actor` (who must be allowed: see `policy::may_remove_file`),
/// with `reason` (required of staff), leaving a line in the case's or change request's activity
/// and an audit entry. The bytes go once nothing refers to them. Answers the page to go back to.
pub async fn remove(
    db: &Db,
    files: &FileStore,
    actor: &Actor,
    token: &str,
    reason: &str,
    client_addr: &str,
    now: i64,
) -> Result<String, AppError> {
    let reason = reason.trim();
    let stored = find(db, token).await?.ok_or(AppError::NotFound)?;
    crate::policy::may_see_file(Some(actor), &stored.scope())?;
    crate::policy::may_remove_file(actor, stored.uploaded_by, stored.answered)?;
    if actor.role.is_staff() && reason.is_empty() {
        return Err(AppError::field(
            "reason",
            "Say why the file is removed: the customer and the audit trail see it",
        ));
    }
    if reason.chars().count() > 500 {
        return Err(AppError::field(
            "reason",
            "Keep the reason under 500 characters",
        ));
    }
    let mut tx = db.begin().await?;
    let removed = execute!(tx: &mut tx, sqlx::query(
        "UPDATE attachments SET removed_at = $1, removed_by = $2, removed_reason = $3 \
         WHERE token = $4 AND removed_at IS NULL"
    )
    .bind(now)
    .bind(actor.user_id)
    .bind((!reason.is_empty()).then_some(reason))
    .bind(token))?;
    if removed == 0 {
        return Err(AppError::NotFound);
    }
    let line = if reason.is_empty() {
        format!("Removed the file {}", stored.file_name)
    } else {
        format!("Removed the file {}: {reason}", stored.file_name)
    };
    // Where the person goes back to, and the activity line in the case's or request's history.
    let (page, target) = match (&stored.case_number, &stored.change_number) {
        (Some(number), _) => {
            let kind = if stored.internal {
                "work_note"
            } else {
                "change"
            };
            execute!(tx: &mut tx, sqlx::query(
                "INSERT INTO case_entries (case_id, kind, author_id, body, at) VALUES ($1, $2, $3, $4, $5)"
            )
            .bind(stored.case_id)
            .bind(kind)
            .bind(actor.user_id)
            .bind(&line)
            .bind(now))?;
            (format!("/cases/{number}"), Some(format!("case:{number}")))
        }
        (None, Some(number)) => {
            execute!(tx: &mut tx, sqlx::query(
                "INSERT INTO change_entries (change_id, kind, author_id, body, at) VALUES ($1, 'change', $2, $3, $4)"
            )
            .bind(stored.change_id)
            .bind(actor.user_id)
            .bind(&line)
            .bind(now))?;
            (
                format!("/changes/{number}"),
                Some(format!("change:{number}")),
            )
        }
        (None, None) => match &stored.article_number {
            Some(number) => (format!("/staff/kb/{number}"), Some(number.clone())),
            None => ("/".to_string(), None),
        },
    };
    if let Some(target) = target {
        let event = super::audit::Event {
            account_id: stored.account_id,
            target: Some(target),
            reason: (!reason.is_empty()).then_some(reason),
            before: Some(serde_json::json!({
                "file": stored.file_name, "sha256": stored.sha256, "size": stored.size,
            })),
            ..super::audit::Event::by(actor, "attachment.removed", client_addr)
        };
        super::audit::append(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    collect(db, files, &stored.sha256).await?;
    Ok(page)
}

/// Deletes blob `sha256` — bytes and row — when no live attachment refers to it, holding the
/// blob row's lock so no upload can refer to it meanwhile.
pub async fn collect(db: &Db, files: &FileStore, sha256: &str) -> Result<bool, AppError> {
    let mut tx = db.begin().await?;
    let lock = tx.for_update();
    let held: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(&format!(
        "SELECT sha256 FROM blobs WHERE sha256 = $1 {lock}"
    ))
    .bind(sha256)
    .fetch_optional(c)
    .await)?;
    if held.is_none() {
        return Ok(false);
    }
    let referred: bool = on_tx!(&mut tx, |c| sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1 AND removed_at IS NULL)"
    )
    .bind(sha256)
    .fetch_one(c)
    .await)?;
    if referred {
        return Ok(false);
    }
    // The bytes first: should the row's deletion then fail, the next round finds the row again
    // with nothing to delete, while the other order could leave bytes no row names.
    files.remove(&blob_path(sha256)).await?;
    execute!(tx: &mut tx, sqlx::query("DELETE FROM blobs WHERE sha256 = $1").bind(sha256))?;
    tx.commit().await?;
    Ok(true)
}

/// Housekeeping: drops staged files nobody attached within a day, then every blob nothing refers
/// to, then staging objects of uploads that never finished. Answers how many blobs went.
pub async fn sweep(db: &Db, files: &FileStore, now: i64) -> Result<usize, AppError> {
    execute!(db: db, sqlx::query(
        "DELETE FROM attachments WHERE case_id IS NULL AND change_id IS NULL AND article_id IS NULL \
         AND uploaded_at < $1"
    )
    .bind(now - STAGED_KEPT_SECONDS))?;
    let orphans: Vec<String> = on_db!(db, |c| {
        sqlx::query_scalar(
        "SELECT sha256 FROM blobs b WHERE NOT EXISTS \
         (SELECT 1 FROM attachments a WHERE a.sha256 = b.sha256 AND a.removed_at IS NULL) LIMIT 1000"
    )
    .fetch_all(c)
    .await
    })?;
    let mut gone = 0;
    for sha256 in orphans {
        if collect(db, files, &sha256).await? {
            gone += 1;
        }
    }
    files.sweep_staging(now - STAGED_KEPT_SECONDS).await?;
    Ok(gone)
}

/// How a scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected,
}

/// Reads clamd's answer to INSTREAM: `stream: OK`, `stream: <signature> FOUND`, or an error
/// (`… ERROR`, e.g. over clamd's stream limit), which leaves the file waiting.
pub fn verdict(answer: &[u8]) -> Option<Verdict> {
    let answer = String::from_utf8_lossy(answer);
    let answer = answer.trim_end_matches('\0').trim();
    if answer.ends_with("FOUND") {
        Some(Verdict::Infected)
    } else if answer.ends_with(": OK") || answer == "OK" {
        Some(Verdict::Clean)
    } else {
        None
    }
}

/// Scans files waiting for the malware scan with clamd at `address`, oldest first, a batch at a
/// time. A file is marked clean or infected only on clamd's word: when clamd is down or answers
/// an error, files stay pending (and are not served to customers). Answers how many were scanned.
pub async fn scan_pending(
    db: &Db,
    files: &FileStore,
    address: &str,
    now: i64,
) -> Result<usize, AppError> {
    let waiting: Vec<String> = on_db!(db, |c| sqlx::query_scalar(
        "SELECT sha256 FROM blobs WHERE scan = 'pending' ORDER BY created_at LIMIT 20"
    )
    .fetch_all(c)
    .await)?;
    let mut scanned = 0;
    for sha256 in waiting {
        let bytes = files
            .open(&sha256, None)
            .await?
            .map(|chunk| chunk.map_err(std::io::Error::other));
        let connection = clamav_client::tokio::Tcp {
            host_address: address,
        };
        let answer = match clamav_client::tokio::scan_stream(bytes, connection, None).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(error = %e, clamd = address, "clamd cannot be reached; files stay pending");
                break;
            }
        };
        let Some(verdict) = verdict(&answer) else {
            tracing::warn!(
                answer = %String::from_utf8_lossy(&answer),
                sha256,
                "clamd could not scan a file; it stays pending"
            );
            continue;
        };
        let state = match verdict {
            Verdict::Clean => ScanState::Clean,
            Verdict::Infected => {
                tracing::warn!(sha256, answer = %String::from_utf8_lossy(&answer), "malware found in an attachment: quarantined");
                ScanState::Infected
            }
        };
        execute!(db: db, sqlx::query(
            "UPDATE blobs SET scan = $1, scanned_at = $2 WHERE sha256 = $3 AND scan = 'pending'"
        )
        .bind(state.as_str())
        .bind(now)
        .bind(&sha256))?;
        scanned += 1;
    }
    Ok(scanned)
}

/// Attaches change request `change_id`'s files to case `case_id` too (made from it), in `tx`: the
/// same bytes under new tokens, each with the uploader and time of the original.
pub async fn carry_to_case(tx: &mut Tx, change_id: i64, case_id: i64) -> Result<usize, AppError> {
    let rows: Vec<(String, String, i64, i64)> = on_tx!(&mut *tx, |c| sqlx::query_as(
        "SELECT sha256, file_name, uploaded_by, uploaded_at FROM attachments \
         WHERE change_id = $1 AND removed_at IS NULL ORDER BY id"
    )
    .bind(change_id)
    .fetch_all(c)
    .await)?;
    for (sha256, name, by, at) in &rows {
        execute!(tx: &mut *tx, sqlx::query(
            "INSERT INTO attachments (token, sha256, file_name, uploaded_by, uploaded_at, case_id) \
             VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(super::session::new_token())
        .bind(sha256)
        .bind(name)
        .bind(by)
        .bind(at)
        .bind(case_id))?;
    }
    Ok(rows.len())
}

/// How many files case `case_id` holds now (for the mails, which never carry files).
pub async fn count_for_case(
    tx: &mut Tx,
    case_id: i64,
    entry_id: Option<i64>,
) -> Result<i64, AppError> {
    Ok(on_tx!(&mut *tx, |c| {
        sqlx::query_scalar(
        "SELECT COUNT(*) FROM attachments WHERE case_id = $1 AND removed_at IS NULL AND NOT internal \
         AND (($2 IS NULL AND entry_id IS NULL) OR entry_id = $2)"
    )
    .bind(case_id)
    .bind(entry_id)
    .fetch_one(c)
    .await
    })?)
}

/// The sentence a mail adds about the files that came with it.
pub fn mail_line(count: i64) -> String {
    match count {
        0 => String::new(),
        1 => {
            "1 file was attached; it is on the case page (files are never sent by mail).\n\n".into()
        }
        n => format!(
            "{n} files were attached; they are on the case page (files are never sent by mail).\n\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_comes_from_the_content() {
        let png = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
        ];
        assert_eq!(sniff(&png), "image/png");
        assert_eq!(sniff(b"\xff\xd8\xff\xe0\x00\x10JFIF"), "image/jpeg");
        assert_eq!(sniff(b"2026-12-06 ERROR pipeline stalled\n"), "text/plain");
        assert_eq!(sniff(b"caf\xc3"), "text/plain");
        assert_eq!(sniff(b"\x00\x01\x02\x03binary"), "application/octet-stream");
        assert!(!inline(sniff(b"<html><script>alert(1)</script></html>")));
        assert!(!inline(sniff(
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"
        )));
        assert!(!inline(sniff(
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
        )));
        assert!(inline(sniff(&png)));
    }

    #[test]
    fn forms_carry_tokens_only() {
        let t = "a".repeat(43);
        assert_eq!(parse_tokens(&format!(" {t}, {t}\n")).unwrap().len(), 2);
        assert!(parse_tokens("").unwrap().is_empty());
        assert!(parse_tokens("../../etc/passwd").is_err());
        assert!(parse_tokens(&vec![t; MAX_FILES_PER_FORM + 1].join(" ")).is_err());
    }

    #[test]
    fn clamd_answers_are_read_strictly() {
        assert_eq!(verdict(b"stream: OK\0"), Some(Verdict::Clean));
        assert_eq!(
            verdict(b"stream: Eicar-Test-Signature FOUND\0"),
            Some(Verdict::Infected)
        );
        assert_eq!(verdict(b"INSTREAM size limit exceeded. ERROR\0"), None);
        assert_eq!(verdict(b""), None);
    }

    #[test]
    fn mails_count_files_and_never_carry_them() {
        assert_eq!(mail_line(0), "");
        assert!(mail_line(1).starts_with("1 file was attached"));
        assert!(mail_line(3).starts_with("3 files were attached"));
    }
}
