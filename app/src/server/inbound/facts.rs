//! What a received mail says about itself: who sent it, to which addresses, what it answers,
//! and whether it is automatic mail that must never be answered.

use mail_parser::{Message, MimeHeaders};
use sha2::{Digest, Sha256};

/// The few things of a mail the decision uses.
pub(super) struct Facts {
    pub(super) message_id: String,
    pub(super) from: String,
    pub(super) subject: String,
    /// Every address it was sent to (To, Cc, and what the delivering server says).
    pub(super) recipients: Vec<String>,
    /// The Message-IDs it answers: `In-Reply-To` first, then `References` newest first.
    pub(super) answers: Vec<String>,
    pub(super) size: u64,
}

impl Facts {
    pub(super) fn of(message: &Message<'_>, raw: &[u8], size: u64) -> Facts {
        let message_id = message
            .message_id()
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(raw))));
        let from = message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .trim()
            .to_lowercase();
        let mut recipients: Vec<String> = [message.to(), message.cc()]
            .into_iter()
            .flatten()
            .flat_map(|list| {
                list.iter()
                    .filter_map(|a| a.address())
                    .map(str::to_lowercase)
                    .collect::<Vec<_>>()
            })
            .collect();
        for name in ["Delivered-To", "X-Original-To", "Envelope-To"] {
            recipients.extend(
                message
                    .headers_raw()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim().trim_matches(['<', '>']).to_lowercase()),
            );
        }
        let mut answers = Vec::new();
        for name in ["In-Reply-To", "References"] {
            for (_, value) in message
                .headers_raw()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                let mut ids: Vec<String> = value.split_whitespace().map(str::to_string).collect();
                ids.reverse();
                answers.extend(ids);
            }
        }
        Facts {
            message_id,
            answers,
            from,
            subject: message
                .subject()
                .unwrap_or_default()
                .chars()
                .take(300)
                .collect(),
            recipients,
            size,
        }
    }

    pub(super) fn unreadable(message_id: String, size: u64) -> Facts {
        Facts {
            message_id,
            from: String::new(),
            subject: String::new(),
            recipients: Vec::new(),
            answers: Vec::new(),
            size,
        }
    }
}

/// Why a mail is automatic and must not be answered or taken (RFC 3834, RFC 3464, RFC 2369):
/// `None` for a person's mail.
pub(super) fn automatic(message: &Message<'_>, facts: &Facts, host: &str) -> Option<String> {
    let header = |name: &str| {
        message
            .headers_raw()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    if let Some(value) = header("Auto-Submitted") {
        if value != "no" {
            return Some(format!("automatic mail (Auto-Submitted: {value})"));
        }
    }
    if header("Return-Path").is_some_and(|v| v == "<>") {
        return Some("a bounce (empty Return-Path)".into());
    }
    if let Some(ct) = message.content_type() {
        if ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        {
            return Some("a delivery or read report".into());
        }
    }
    if let Some(p) = header("Precedence") {
        if matches!(p.as_str(), "bulk" | "list" | "junk" | "auto_reply") {
            return Some(format!("bulk or list mail (Precedence: {p})"));
        }
    }
    for name in [
        "List-Id",
        "List-Unsubscribe",
        "X-Autoreply",
        "X-Autorespond",
        "X-Auto-Response-Suppress",
    ] {
        if header(name).is_some() {
            return Some(format!("automatic or list mail ({name})"));
        }
    }
    if facts.from.starts_with("mailer-daemon@") || facts.from.starts_with("postmaster@") {
        return Some("a bounce (from the mail system)".into());
    }
    if outbox_id(&facts.message_id, host).is_some() {
        return Some("the portal's own mail".into());
    }
    None
}

/// The outbox id of one of the portal's own Message-IDs (`<outbox-N@host>`).
pub(super) fn outbox_id(message_id: &str, host: &str) -> Option<i64> {
    let id = message_id.trim().trim_matches(['<', '>']);
    let (local, domain) = id.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(host) {
        return None;
    }
    local.strip_prefix("outbox-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_portals_own_message_ids_name_an_outbox_mail() {
        assert_eq!(
            outbox_id("<outbox-42@portal.example>", "portal.example"),
            Some(42)
        );
        assert_eq!(
            outbox_id("outbox-42@PORTAL.example", "portal.example"),
            Some(42)
        );
        assert_eq!(
            outbox_id("<outbox-42@evil.example>", "portal.example"),
            None
        );
        assert_eq!(
            outbox_id("<outbox-x@portal.example>", "portal.example"),
            None
        );
        assert_eq!(outbox_id("<CAF00@mail.gmail.com>", "portal.example"), None);
    }

    #[test]
    fn automatic_mail_is_recognized_by_its_headers() {
        let read = |raw: &str| {
            let message = mail_parser::MessageParser::default()
                .parse(raw.as_bytes())
                .unwrap();
            let facts = Facts::of(&message, raw.as_bytes(), raw.len() as u64);
            automatic(&message, &facts, "portal.example")
        };
        let person = "From: uma@acme.example\r\nMessage-ID: <a@acme.example>\r\n\r\nHello\r\n";
        assert_eq!(read(person), None);
        let no = "From: uma@acme.example\r\nAuto-Submitted: no\r\n\r\nHello\r\n";
        assert_eq!(read(no), None);
        for raw in [
            "From: uma@acme.example\r\nAuto-Submitted: auto-replied\r\n\r\nAway\r\n",
            "From: uma@acme.example\r\nPrecedence: bulk\r\n\r\nNews\r\n",
            "From: MAILER-DAEMON@mx.acme.example\r\n\r\nUndeliverable\r\n",
            "From: x@portal.example\r\nMessage-ID: <outbox-7@portal.example>\r\n\r\nLoop\r\n",
            "From: uma@acme.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b--\r\n",
        ] {
            assert!(read(raw).is_some(), "{raw}");
        }
    }
}
