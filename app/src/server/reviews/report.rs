//! The evidence of a completed access review: a CSV of every person and decision, and a PDF report
//! of the same for an auditor. Both are written once, when the review completes, and kept as
//! written, so the SHA-256 recorded then verifies an exported file at any later time.
//!
//! The PDF is drawn with `pdf-writer` (a small, deterministic writer) in Courier, one of the
//! standard fonts every reader has: nothing is embedded, and a monospaced font lets the table be
//! laid out by counting characters. Text outside Latin-1 is shown as `?` in the PDF (the CSV keeps
//! it as it is).

use crate::error::AppError;
use crate::model::reviews::{ReviewItem, ReviewSummary};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use sha2::{Digest, Sha256};

/// A spreadsheet would run a cell starting with one of these as a formula: such cells get a
/// leading apostrophe (OWASP "CSV injection").
pub fn spreadsheet_safe(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// The SHA-256 of `bytes`, in lower-case hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `unix` as a UTC time to the second; empty for none.
fn utc(unix: Option<i64>) -> String {
    unix.and_then(|t| jiff::Timestamp::from_second(t).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

fn contact(item: &ReviewItem) -> &'static str {
    match item.contact_role.as_deref() {
        Some("primary") => "primary",
        Some("secondary") => "secondary",
        _ => "",
    }
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "yes"
    } else {
        "no"
    }
}

/// The CSV: one line per person, with the review's number, account and dates on each.
pub fn csv(review: &ReviewSummary, items: &[ReviewItem]) -> Result<Vec<u8>, AppError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| {
        tracing::error!(error = %e, "writing a review's CSV failed");
        AppError::Internal
    };
    out.write_record([
        "review",
        "account",
        "started_utc",
        "started_by",
        "completed_utc",
        "first_name",
        "last_name",
        "email",
        "status",
        "administrator",
        "contact",
        "last_sign_in_utc",
        "second_factor",
        "created_by",
        "dormant",
        "decision",
        "decided_by",
        "decided_utc",
    ])
    .map_err(failed)?;
    let started_by = review
        .started_by
        .clone()
        .unwrap_or_else(|| "schedule".into());
    for i in items {
        out.write_record([
            review.id.to_string(),
            spreadsheet_safe(&review.account_name),
            utc(Some(review.started_at)),
            spreadsheet_safe(&started_by),
            utc(review.completed_at),
            spreadsheet_safe(&i.first_name),
            spreadsheet_safe(&i.last_name),
            spreadsheet_safe(&i.email),
            i.status.as_str().to_string(),
            yes_no(i.is_admin).to_string(),
            contact(i).to_string(),
            utc(i.last_sign_in_at),
            i.second_factor.clone(),
            spreadsheet_safe(i.created_by.as_deref().unwrap_or("")),
            yes_no(i.dormant).to_string(),
            i.decision.clone().unwrap_or_default(),
            spreadsheet_safe(i.decided_by_name.as_deref().unwrap_or("")),
            utc(i.decided_at),
        ])
        .map_err(failed)?;
    }
    out.into_inner().map_err(|e| {
        tracing::error!(error = %e, "writing a review's CSV failed");
        AppError::Internal
    })
}

/// Landscape A4, in points.
const WIDTH: f32 = 842.0;
const HEIGHT: f32 = 595.0;
const MARGIN: f32 = 36.0;
const SIZE: f32 = 8.0;
const LINE: f32 = 10.5;
/// The table's columns: heading and width in characters.
const COLUMNS: [(&str, usize); 11] = [
    ("Name", 22),
    ("Email", 30),
    ("Status", 8),
    ("Adm.", 4),
    ("Contact", 9),
    ("Last sign-in", 10),
    ("2nd factor", 11),
    ("Dorm.", 5),
    ("Decision", 8),
    ("Decided by", 24),
    ("Decided (UTC)", 16),
];

/// `text` cut to `width` characters (ending in "..." when cut) and padded to it.
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count > width {
        let cut: String = text.chars().take(width - 3).collect();
        format!("{cut}...")
    } else {
        format!("{text}{}", " ".repeat(width - count))
    }
}

fn row(cells: [&str; 11]) -> String {
    cells
        .iter()
        .zip(COLUMNS)
        .map(|(text, (_, width))| fit(text, width))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The bytes of `text` in the standard fonts' WinAnsi encoding: Latin-1 as it is, the rest `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

fn minute(unix: Option<i64>) -> String {
    utc(unix).get(..16).unwrap_or_default().to_string()
}

fn short_factor(text: &str) -> &str {
    match text {
        "Authenticator app and passkey" => "App+passkey",
        "Authenticator app" => "App",
        other => other,
    }
}

/// The report's lines: a heading block, then the table, person by person.
fn lines(review: &ReviewSummary, items: &[ReviewItem]) -> (Vec<String>, Vec<String>) {
    let started_by = match &review.started_by {
        Some(name) => format!("by {name}"),
        None => "by the account's review schedule".into(),
    };
    let heading = vec![
        format!("Access review {} - {}", review.id, review.account_name),
        format!("Started {} {started_by}", utc(Some(review.started_at))),
        format!("Completed {}", utc(review.completed_at)),
        format!(
            "{} people reviewed: {} kept, {} removed (disabled when decided). Times are UTC.",
            review.users,
            review.users - review.removed,
            review.removed
        ),
        String::new(),
        row(COLUMNS.map(|(heading, _)| heading)),
    ];
    let table = items
        .iter()
        .map(|i| {
            row([
                &i.name(),
                &i.email,
                i.status.label(),
                yes_no(i.is_admin),
                contact(i),
                minute(i.last_sign_in_at).get(..10).unwrap_or("never"),
                short_factor(&i.second_factor),
                yes_no(i.dormant),
                i.decision().map(|d| d.label()).unwrap_or(""),
                i.decided_by_name.as_deref().unwrap_or(""),
                &minute(i.decided_at),
            ])
        })
        .collect();
    (heading, table)
}

/// The PDF report.
pub fn pdf(review: &ReviewSummary, items: &[ReviewItem]) -> Vec<u8> {
    let (heading, table) = lines(review, items);
    let per_page = ((HEIGHT - 2.0 * MARGIN) / LINE) as usize - 2;
    let first = per_page.saturating_sub(heading.len()).max(1);
    let mut pages: Vec<Vec<String>> = vec![heading];
    let mut rest = table.as_slice();
    let take = first.min(rest.len());
    pages[0].extend_from_slice(&rest[..take]);
    rest = &rest[take..];
    while !rest.is_empty() {
        let take = per_page.min(rest.len());
        pages.push(rest[..take].to_vec());
        rest = &rest[take..];
    }
    let (catalog, tree, font, bold) = (Ref::new(1), Ref::new(2), Ref::new(3), Ref::new(4));
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|n| Ref::new(10 + 2 * n as i32))
        .collect();
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    for (base, bold_face) in [(font, false), (bold, true)] {
        pdf.type1_font(base)
            .base_font(Name(if bold_face {
                b"Courier-Bold"
            } else {
                b"Courier"
            }))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let count = pages.len();
    for (n, lines) in pages.iter().enumerate() {
        let (page_id, content_id) = (page_ids[n], Ref::new(11 + 2 * n as i32));
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree);
        page.contents(content_id);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), font)
            .pair(Name(b"F2"), bold);
        page.finish();
        let mut content = Content::new();
        content.begin_text();
        content.set_font(Name(b"F1"), SIZE);
        content.set_leading(LINE);
        content.next_line(MARGIN, HEIGHT - MARGIN);
        for (i, line) in lines.iter().enumerate() {
            let strong = n == 0 && (i == 0 || i == 5);
            content.set_font(Name(if strong { b"F2" } else { b"F1" }), SIZE);
            content.show(Str(&win_ansi(line)));
            content.next_line_using_leading();
        }
        content.end_text();
        content.begin_text();
        content.set_font(Name(b"F1"), SIZE);
        content.next_line(MARGIN, MARGIN / 2.0);
        let footer = format!("Access review {} - page {} of {count}", review.id, n + 1);
        content.show(Str(&win_ansi(&footer)));
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_and_padded_to_their_column() {
        assert_eq!(fit("Ada", 5), "Ada  ");
        assert_eq!(fit("Augusta Ada King", 8), "Augus...");
        assert_eq!(win_ansi("Zoë 名"), b"Zo\xeb ?".to_vec());
        assert_eq!(spreadsheet_safe("=1+1"), "'=1+1");
    }

    fn person(n: i64) -> ReviewItem {
        ReviewItem {
            user_id: n,
            first_name: format!("Person{n}"),
            last_name: "Tester".into(),
            email: format!("p{n}@example.com"),
            status: crate::model::UserStatus::Active,
            is_admin: false,
            contact_role: None,
            last_sign_in_at: None,
            second_factor: "None".into(),
            created_by: None,
            dormant: false,
            decision: Some("keep".into()),
            decided_by_name: Some("Ada Admin <ada@example.com>".into()),
            decided_at: Some(1_700_000_000),
        }
    }

    #[test]
    fn a_long_review_runs_over_pages_and_every_person_is_in_both_files() {
        let review = ReviewSummary {
            id: 4,
            account_id: 1,
            account_name: "Acme".into(),
            started_by: None,
            started_at: 1_700_000_000,
            due_at: 1_702_592_000,
            completed_at: Some(1_700_100_000),
            users: 120,
            decided: 120,
            removed: 0,
            csv_sha256: None,
            pdf_sha256: None,
        };
        let items: Vec<ReviewItem> = (1..=120).map(person).collect();
        let pdf = pdf(&review, &items);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-"));
        assert!(
            text.contains("(Access review 4 - page 3 of 3)"),
            "three pages of ~46 rows"
        );
        assert!(text.contains("by the account's review schedule"));
        for n in [1, 60, 120] {
            assert!(text.contains(&format!("Person{n} Tester")), "{n}");
        }
        // The same review gives the same bytes: nothing in the file depends on when it is written.
        assert_eq!(pdf, super::pdf(&review, &items));
        let csv = String::from_utf8(csv(&review, &items).unwrap()).unwrap();
        assert_eq!(csv.lines().count(), 121);
        assert!(csv.contains("2023-11-14 22:13:20 UTC"), "{csv}");
    }
}
