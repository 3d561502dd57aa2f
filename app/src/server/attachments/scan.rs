//! The optional malware scan: ClamAV's clamd reads each new file, and only its word marks a file
//! clean or infected.

use super::super::db::{execute, on_db, Db};
use super::FileStore;
use crate::error::AppError;
use crate::model::attachments::ScanState;

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
        let bytes = files.open(&sha256, None).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
