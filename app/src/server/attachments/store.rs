//! The file store (a directory or an S3-compatible bucket) and receiving an upload into it as it
//! streams in: hashed, typed from its first bytes, and refused past its limit.

use super::super::state::Settings;
use super::{INLINE_TYPES, PARTS_IN_FLIGHT, SNIFF_BYTES};
use crate::error::AppError;
use crate::model::attachments::{display_name, human_size};
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;

/// Where the bytes live: a local directory or an S3-compatible bucket (`object_store` gives both
/// one interface).
#[derive(Clone)]
pub struct FileStore {
    pub(super) store: Arc<dyn ObjectStore>,
    /// "local" or "s3", for logs and the health page.
    pub kind: &'static str,
    /// The directory of a local store: its bytes are streamed in and out with tokio's files
    /// rather than through `object_store`, whose local reads come 8 KB at a time, each on a
    /// blocking thread, and whose writes hand every part to another thread: both left the
    /// allocator holding memory in proportion to the file (see bench/README.md).
    dir: Option<std::path::PathBuf>,
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
                dir: None,
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
            dir: Some(std::path::PathBuf::from(dir)),
        })
    }

    /// The bytes of blob `sha256` (those of `range` only, when given), as a stream.
    pub async fn open(
        &self,
        sha256: &str,
        range: Option<std::ops::Range<u64>>,
    ) -> Result<BoxStream<'static, std::io::Result<Bytes>>, AppError> {
        let cannot_read = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, sha256, "an attachment's bytes cannot be read");
            AppError::Internal
        };
        if let Some(dir) = &self.dir {
            let path = dir.join(blob_path(sha256).as_ref());
            let mut file = tokio::fs::File::open(&path)
                .await
                .map_err(|e| cannot_read(&e))?;
            let range = match range {
                Some(range) => range,
                None => 0..file.metadata().await.map_err(|e| cannot_read(&e))?.len(),
            };
            file.seek(std::io::SeekFrom::Start(range.start))
                .await
                .map_err(|e| cannot_read(&e))?;
            let reader = file.take(range.end - range.start);
            return Ok(ReaderStream::with_capacity(reader, READ_CHUNK).boxed());
        }
        let options = object_store::GetOptions {
            range: range.map(object_store::GetRange::Bounded),
            ..Default::default()
        };
        let got = self
            .store
            .get_opts(&blob_path(sha256), options)
            .await
            .map_err(|e| cannot_read(&e))?;
        Ok(got.into_stream().map_err(std::io::Error::other).boxed())
    }

    /// Where a new upload is written: a file in the staging folder of a local store, or a
    /// multipart upload to the bucket.
    async fn sink(&self) -> Result<(StorePath, Sink), UploadError> {
        let staging = StorePath::from(format!("staging/{}", crate::server::session::new_token()));
        let failed = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, "the file store refused a new upload");
            UploadError::Store
        };
        let sink = match &self.dir {
            Some(dir) => {
                let path = dir.join(staging.as_ref());
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(|e| failed(&e))?;
                }
                let file = tokio::fs::File::create(&path)
                    .await
                    .map_err(|e| failed(&e))?;
                Sink::Local(LocalUpload {
                    file,
                    path,
                    finished: false,
                })
            }
            None => {
                let upload = self
                    .store
                    .put_multipart(&staging)
                    .await
                    .map_err(|e| failed(&e))?;
                Sink::Remote(WriteMultipart::new_with_chunk_size(upload, S3_PART_SIZE))
            }
        };
        Ok((staging, sink))
    }

    /// Whether blob `sha256`'s bytes are in the store.
    pub async fn holds(&self, sha256: &str) -> bool {
        self.store.head(&blob_path(sha256)).await.is_ok()
    }

    pub(super) async fn remove(&self, path: &StorePath) -> Result<(), AppError> {
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

pub(super) fn blob_path(sha256: &str) -> StorePath {
    StorePath::from(format!("blobs/{}/{}/{sha256}", &sha256[..2], &sha256[2..4]))
}

/// How much of a local file is read at a time for a download.
const READ_CHUNK: usize = 256 * 1024;
/// The parts of an upload to S3: 5 MB is the least S3 takes.
const S3_PART_SIZE: usize = 5 * 1024 * 1024;

/// An upload on its way into the store.
enum Sink {
    /// tokio's file keeps one buffer of its own and writes it on a blocking thread, one write at
    /// a time: an upload holds that buffer and no more.
    Local(LocalUpload),
    Remote(WriteMultipart),
}

/// A local upload's staged file. It removes itself unless the upload was finished: a connection
/// closed mid-upload drops the request's work without running its error path.
struct LocalUpload {
    file: tokio::fs::File,
    path: std::path::PathBuf,
    finished: bool,
}

impl Drop for LocalUpload {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Sink {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), String> {
        match self {
            Sink::Local(upload) => upload
                .file
                .write_all(chunk)
                .await
                .map_err(|e| e.to_string()),
            Sink::Remote(writer) => {
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| e.to_string())?;
                writer.write(chunk);
                Ok(())
            }
        }
    }

    /// Makes the upload whole and durable: on disk (synced) or completed in the bucket.
    async fn finish(self) -> Result<(), String> {
        match self {
            Sink::Local(mut upload) => {
                upload.file.flush().await.map_err(|e| e.to_string())?;
                upload.file.sync_data().await.map_err(|e| e.to_string())?;
                upload.finished = true;
                Ok(())
            }
            Sink::Remote(writer) => writer.finish().await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }

    async fn abort(self) {
        match self {
            // The staged file removes itself.
            Sink::Local(upload) => drop(upload),
            Sink::Remote(writer) => {
                let _ = writer.abort().await;
            }
        }
    }
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
    pub(super) staging: StorePath,
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
    let (staging, mut sink) = files.sink().await?;
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
        if let Err(e) = sink.write(&chunk).await {
            tracing::error!(error = %e, "writing an upload to the file store failed");
            break Some(UploadError::Store);
        }
    };
    let failed = failed.or((size == 0).then_some(UploadError::Empty));
    if let Some(reason) = failed {
        sink.abort().await;
        let _ = files.remove(&staging).await;
        return Err(reason);
    }
    if let Err(e) = sink.finish().await {
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
}
