//! What a reply says, without what it quotes: mail clients put the message answered under (or
//! over) the answer, and a signature after it. Only the person's own words become the comment.

/// The lines that begin the quoted history in the common mail clients: Gmail and Apple Mail
/// ("On … wrote:"), Outlook ("-----Original Message-----", or a "From:" block), Thunderbird and
/// others in German and French as well, since customers write in their own.
fn starts_history(line: &str, next: Option<&str>) -> bool {
    let l = line.trim();
    let lower = l.to_lowercase();
    if lower.starts_with("-----original message-----")
        || lower.starts_with("-----ursprüngliche nachricht-----")
        || lower.starts_with("-------- original message --------")
        || lower.starts_with("-------- message d'origine --------")
    {
        return true;
    }
    // "On Tue, 1 Dec 2026 at 10:00, Support <…> wrote:", possibly wrapped onto the next line.
    let joined = match next {
        Some(n) if !lower.ends_with(':') => format!("{lower} {}", n.trim().to_lowercase()),
        _ => lower.clone(),
    };
    // German and French clients put the author after the verb ("… schrieb Uma <…>:").
    let wrote = |s: &str| {
        (s.starts_with("on ") && s.ends_with("wrote:"))
            || (s.starts_with("am ") && s.contains(" schrieb") && s.ends_with(':'))
            || (s.starts_with("le ") && s.contains(" a écrit") && s.ends_with(':'))
    };
    if wrote(&lower) || wrote(&joined) {
        return true;
    }
    // Outlook's header block: "From: …" followed by "Sent: …" or "Date: …".
    if lower.starts_with("from:") {
        if let Some(n) = next {
            let n = n.trim().to_lowercase();
            return n.starts_with("sent:") || n.starts_with("date:") || n.starts_with("gesendet:");
        }
    }
    false
}

/// The reply's own words: everything before the quoted history and the signature, without
/// quoted (`>`) lines, trimmed. Empty when the mail only quotes.
pub fn own_words(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        // The signature separator is "-- " (RFC 3676); some clients drop its space.
        if *line == "-- " || *line == "--" {
            break;
        }
        if starts_history(line, lines.get(i + 1).copied()) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    // Blank lines collapse to one; none at either end.
    let mut out = String::new();
    let mut blank = false;
    for line in kept {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_history_and_signatures_are_left_out() {
        let gmail = "Here is the log you asked for.\r\n\r\nThanks,\r\nUma\r\n\r\n\
                     On Tue, 1 Dec 2026 at 10:00, Portcullis <support@vendor.example> wrote:\r\n\
                     > Please send the pipeline log.\r\n> \r\n";
        assert_eq!(
            own_words(gmail),
            "Here is the log you asked for.\n\nThanks,\nUma"
        );
        let wrapped = "Done.\n\nOn Tue, 1 Dec 2026 at 10:00, Portcullis Support\n<support@vendor.example> wrote:\n> old";
        assert_eq!(own_words(wrapped), "Done.");
        let outlook = "Restarted it.\n\n-----Original Message-----\nFrom: Support\nSent: Tuesday\n\nPlease restart.";
        assert_eq!(own_words(outlook), "Restarted it.");
        let outlook_block = "Restarted it.\n\nFrom: Portcullis <support@vendor.example>\nSent: Tuesday, 1 December 2026 10:00\nSubject: [CS00001]";
        assert_eq!(own_words(outlook_block), "Restarted it.");
        let german = "Erledigt.\n\nAm 01.12.2026 um 10:00 schrieb Portcullis <support@vendor.example>:\n> alt";
        assert_eq!(own_words(german), "Erledigt.");
        let signed = "It works now.\n-- \nUma Brandt\nACME Corp";
        assert_eq!(own_words(signed), "It works now.");
        let interleaved = "> Which version?\n2.34\n> Which stage?\nCanary";
        assert_eq!(own_words(interleaved), "2.34\nCanary");
        assert_eq!(own_words("> only quoted\n> text\n"), "");
        // "From:" in the person's own words, not followed by a header block, stays.
        assert_eq!(
            own_words("From: my side it looks fine.\nThanks"),
            "From: my side it looks fine.\nThanks"
        );
    }
}
