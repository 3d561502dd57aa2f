//! Files attached to cases, as pages show them.

use serde::{Deserialize, Serialize};

/// The name the case page's plain "Add files" form is known by when it is refused (it posts to an
/// upload route, not a server function).
pub const ATTACH_FORM: &str = "/cases/attach";

text_enum! {
    /// Where the malware scan of a file stands. Only `Unscanned` (no scanner configured) and
    /// `Clean` files reach customers.
    #[serde(rename_all = "lowercase")]
    pub enum ScanState {
        Unscanned => ("unscanned", "Not scanned"),
        Pending => ("pending", "Waiting for the malware scan"),
        Clean => ("clean", "Scanned: clean"),
        Infected => ("infected", "Quarantined: malware found"),
    }
}

impl ScanState {
    /// Whether a customer may download a file in this state (staff may fetch a pending one too,
    /// nobody an infected one).
    pub fn served_to_customers(self) -> bool {
        matches!(self, ScanState::Unscanned | ScanState::Clean)
    }
}

/// One attached file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Attachment {
    /// Its public id: the download address is `/attachments/{token}/{file_name}`.
    pub token: String,
    pub file_name: String,
    pub size: i64,
    /// The type found in its content.
    pub content_type: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub scan: ScanState,
    pub uploaded_by: String,
    pub uploaded_at: i64,
    /// The comment or work note it came with (`None`: with the case itself, or on its own).
    pub entry_id: Option<i64>,
    /// Staff only.
    pub internal: bool,
    /// Whether the person looking may remove it.
    #[cfg_attr(feature = "ssr", sqlx(skip))]
    pub removable: bool,
}

impl Attachment {
    /// Where it is downloaded from.
    pub fn href(&self) -> String {
        format!(
            "/attachments/{}/{}",
            self.token,
            super::text::encode(&self.file_name)
        )
    }
}

/// `bytes` for people: "512 bytes", "12.3 KB", "4.0 MB", "1.2 GB".
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// The name a file is shown and downloaded under: the last part of what the browser sent (never a
/// path), without control characters, at most 200 characters; "file" when nothing is left.
pub fn display_name(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(200)
        .collect();
    let clean = clean.trim().trim_start_matches('.').trim();
    if clean.is_empty() {
        "file".to_string()
    } else {
        clean.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(12_595), "12.3 KB");
        assert_eq!(human_size(4 * 1024 * 1024), "4.0 MB");
        assert_eq!(human_size(1_288_490_189), "1.2 GB");
    }

    #[test]
    fn a_sent_name_is_never_a_path() {
        assert_eq!(display_name("../../etc/passwd"), "passwd");
        assert_eq!(display_name("C:\\Users\\me\\report.log"), "report.log");
        assert_eq!(display_name("..\\.."), "file");
        assert_eq!(display_name(".htaccess"), "htaccess");
        assert_eq!(display_name("a\u{0}b\nc\".png"), "abc.png");
        assert_eq!(display_name("   "), "file");
        assert_eq!(display_name(&"x".repeat(300)).len(), 200);
    }

    #[test]
    fn only_unscanned_and_clean_files_reach_customers() {
        assert!(ScanState::Unscanned.served_to_customers());
        assert!(ScanState::Clean.served_to_customers());
        assert!(!ScanState::Pending.served_to_customers());
        assert!(!ScanState::Infected.served_to_customers());
    }
}
