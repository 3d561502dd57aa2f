//! Reading an uploaded user list: the CSV's columns and rows, and checking each row.

use super::*;

/// A row as read from the file, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub line_no: usize,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub administrator: String,
}

fn header_index(headers: &[String], names: &[&str]) -> Option<usize> {
    headers.iter().position(|h| {
        let h = h.trim().to_lowercase().replace([' ', '-'], "_");
        names.contains(&h.as_str())
    })
}

/// Reads the CSV: with a header row naming the columns (`first_name`, `last_name`, `email`,
/// optional `administrator`, in any order), or without one as first name, last name, email and
/// an optional administrator column. Commas or semicolons; a UTF-8 byte-order mark is ignored.
pub fn parse_csv(text: &str) -> Result<Vec<RawRow>, AppError> {
    let text = text.trim_start_matches('\u{feff}');
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            AppError::field(
                "file",
                format!("Line {} could not be read as CSV: {e}", i + 1),
            )
        })?;
        let line = record
            .position()
            .map(|p| p.line() as usize)
            .unwrap_or(i + 1);
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_string()).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        records.push((line, cells));
    }
    if records.is_empty() {
        return Err(AppError::field("file", "The file has no rows"));
    }
    let header: Vec<String> = records[0].1.clone();
    let has_header = header
        .iter()
        .any(|h| h.trim().eq_ignore_ascii_case("email"));
    let (first, last, email, admin) = if has_header {
        let find = |names: &[&str]| header_index(&header, names);
        let (Some(f), Some(l), Some(e)) = (
            find(&["first_name", "firstname", "first", "given_name"]),
            find(&["last_name", "lastname", "last", "surname", "family_name"]),
            find(&["email", "email_address", "e_mail"]),
        ) else {
            return Err(AppError::field(
                "file",
                "The header row must name the columns first_name, last_name and email",
            ));
        };
        (f, l, e, find(&["administrator", "admin", "is_admin"]))
    } else {
        (0, 1, 2, Some(3))
    };
    let rows: Vec<RawRow> = records
        .into_iter()
        .skip(usize::from(has_header))
        .map(|(line_no, cells)| {
            let get = |i: Option<usize>| i.and_then(|i| cells.get(i)).cloned().unwrap_or_default();
            RawRow {
                line_no,
                first_name: get(Some(first)),
                last_name: get(Some(last)),
                email: get(Some(email)),
                administrator: get(admin),
            }
        })
        .collect();
    if rows.is_empty() {
        return Err(AppError::field(
            "file",
            "The file has a header row but no users",
        ));
    }
    if rows.len() > MAX_ROWS {
        return Err(AppError::field(
            "file",
            format!(
                "The file has {} rows; at most {MAX_ROWS} can be imported at once. Split it.",
                rows.len()
            ),
        ));
    }
    Ok(rows)
}

/// A validated row, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub line_no: usize,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub is_admin: bool,
    pub outcome: &'static str,
    pub message: Option<String>,
}

fn parse_admin(value: &str) -> Result<bool, String> {
    match value.trim().to_lowercase().as_str() {
        "" | "no" | "n" | "false" | "0" => Ok(false),
        "yes" | "y" | "true" | "1" | "x" => Ok(true),
        other => Err(format!(
            "The administrator column says \"{other}\"; use yes or no"
        )),
    }
}

/// Validates every row against the rules of the add-user form, the rest of the file and the
/// users already in the portal (`existing`: lower-cased emails).
pub fn check_rows(rows: &[RawRow], existing: &HashSet<String>) -> Vec<Checked> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    rows.iter()
        .map(|r| {
            let mut problems = Problems::new();
            let first = parse_name(&mut problems, "first_name", "first name", &r.first_name);
            let last = parse_name(&mut problems, "last_name", "last name", &r.last_name);
            let email = problems.take("email", Email::parse(&r.email));
            let is_admin = problems.take("administrator", parse_admin(&r.administrator));
            let email_text = email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_else(|| r.email.trim().to_string());
            let (outcome, message) = match problems.finish() {
                Err(AppError::Validation(fields)) => (
                    "invalid",
                    Some(
                        fields
                            .into_iter()
                            .map(|f| f.message)
                            .collect::<Vec<_>>()
                            .join("; "),
                    ),
                ),
                Err(_) => ("invalid", None),
                Ok(()) => {
                    if let Some(line) = seen.get(&email_text) {
                        (
                            "invalid",
                            Some(format!("Repeats the email address of line {line}")),
                        )
                    } else if existing.contains(&email_text) {
                        ("exists", Some("Already a user: skipped".to_string()))
                    } else {
                        ("create", None)
                    }
                }
            };
            if outcome != "invalid" {
                seen.entry(email_text.clone()).or_insert(r.line_no);
            }
            Checked {
                line_no: r.line_no,
                first_name: first,
                last_name: last,
                email: email_text,
                is_admin: is_admin.unwrap_or(false),
                outcome,
                message,
            }
        })
        .collect()
}
