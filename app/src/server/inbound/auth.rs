//! Whether a reply really comes from its sender's domain, as the receiving mail server found:
//! its `Authentication-Results` header (RFC 8601). Only the header added by the configured
//! server (its authserv-id) counts — anyone can write such a header into a mail, and a receiving
//! server removes ones that claim its own name — and only the topmost, the last one added.

/// What the trusted server found for one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    /// DMARC passed for the From domain, or (no DMARC result) DKIM or SPF passed for a domain
    /// aligned with it.
    Pass(&'static str),
    /// The trusted server's results say no (or nothing for the From domain).
    Fail(String),
    /// No header from the trusted server.
    Missing,
}

/// One `method=result` of a header, with its `ptype.property=value`s.
#[derive(Debug)]
struct Result_ {
    method: String,
    result: String,
    props: Vec<(String, String)>,
}

/// The text without RFC 5322 comments (`(…)`, nested).
fn uncommented(value: &str) -> String {
    let mut depth = 0u32;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The header's authserv-id and its results.
fn parse(value: &str) -> Option<(String, Vec<Result_>)> {
    let clean = uncommented(value).replace(['\r', '\n'], " ");
    let mut parts = clean.split(';');
    let id = parts
        .next()?
        .split_whitespace()
        .next()?
        .to_ascii_lowercase();
    let mut results = Vec::new();
    for part in parts {
        let mut words = part.split_whitespace();
        let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
            continue;
        };
        let props = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.trim_matches('"').to_ascii_lowercase(),
                )
            })
            .collect();
        results.push(Result_ {
            method: method.to_ascii_lowercase(),
            result: result.to_ascii_lowercase(),
            props,
        });
    }
    Some((id, results))
}

/// Whether `domain` is `from_domain` or an organizational parent of it (relaxed alignment:
/// `mail.acme.example` signs for `acme.example` mail and the other way round).
fn aligned(domain: &str, from_domain: &str) -> bool {
    let d = domain.trim_start_matches('@');
    let d = d.rsplit_once('@').map_or(d, |(_, host)| host);
    d == from_domain
        || from_domain.ends_with(&format!(".{d}"))
        || d.ends_with(&format!(".{from_domain}"))
}

/// The verdict of server `authserv_id` on a mail from `from_domain`, given the values of its
/// `Authentication-Results` headers, topmost first.
pub fn verdict(headers: &[&str], authserv_id: &str, from_domain: &str) -> Authenticated {
    let want = authserv_id.trim().to_ascii_lowercase();
    let from_domain = from_domain.to_ascii_lowercase();
    let Some((_, results)) = headers
        .iter()
        .filter_map(|h| parse(h))
        .find(|(id, _)| !want.is_empty() && *id == want)
    else {
        return Authenticated::Missing;
    };
    let prop = |r: &Result_, key: &str| {
        r.props
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Some(dmarc) = results.iter().find(|r| r.method == "dmarc") {
        let domain = prop(dmarc, "header.from");
        return if dmarc.result == "pass" && (domain.is_empty() || aligned(&domain, &from_domain)) {
            Authenticated::Pass("dmarc")
        } else {
            Authenticated::Fail(format!("dmarc={}", dmarc.result))
        };
    }
    let dkim = results.iter().any(|r| {
        r.method == "dkim" && r.result == "pass" && aligned(&prop(r, "header.d"), &from_domain)
    });
    if dkim {
        return Authenticated::Pass("dkim");
    }
    let spf = results.iter().any(|r| {
        r.method == "spf" && r.result == "pass" && aligned(&prop(r, "smtp.mailfrom"), &from_domain)
    });
    if spf {
        return Authenticated::Pass("spf");
    }
    let said: Vec<String> = results
        .iter()
        .map(|r| format!("{}={}", r.method, r.result))
        .collect();
    Authenticated::Fail(if said.is_empty() {
        "no results".into()
    } else {
        said.join(" ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MX: &str = "mx.vendor.example";

    #[test]
    fn only_the_trusted_servers_pass_for_the_from_domain_counts() {
        let good = "mx.vendor.example; dkim=pass header.d=acme.example header.s=s1; \
                    spf=pass smtp.mailfrom=uma@acme.example; dmarc=pass (p=reject dis=none) header.from=acme.example";
        assert_eq!(
            verdict(&[good], MX, "acme.example"),
            Authenticated::Pass("dmarc")
        );
        // A forged header naming another server, or none at all.
        let forged = "attacker.example; dmarc=pass header.from=acme.example";
        assert_eq!(
            verdict(&[forged], MX, "acme.example"),
            Authenticated::Missing
        );
        assert_eq!(verdict(&[], MX, "acme.example"), Authenticated::Missing);
        // The trusted server's header above a forged one of the same name wins.
        let failed = "mx.vendor.example; dmarc=fail (p=reject) header.from=acme.example";
        assert_eq!(
            verdict(&[failed, good], MX, "acme.example"),
            Authenticated::Fail("dmarc=fail".into())
        );
        // DMARC for another domain than the From does not vouch for it.
        let other = "mx.vendor.example; dmarc=pass header.from=evil.example";
        assert!(matches!(
            verdict(&[other], MX, "acme.example"),
            Authenticated::Fail(_)
        ));
        // Without DMARC, an aligned DKIM signature or SPF pass does.
        let dkim = "mx.vendor.example 1; dkim=pass header.d=mail.acme.example; spf=fail";
        assert_eq!(
            verdict(&[dkim], MX, "acme.example"),
            Authenticated::Pass("dkim")
        );
        let spf = "MX.Vendor.Example; spf=pass smtp.mailfrom=bounce@acme.example";
        assert_eq!(
            verdict(&[spf], MX, "acme.example"),
            Authenticated::Pass("spf")
        );
        let unaligned = "mx.vendor.example; dkim=pass header.d=mailer.example; spf=pass smtp.mailfrom=mailer.example";
        assert_eq!(
            verdict(&[unaligned], MX, "acme.example"),
            Authenticated::Fail("dkim=pass spf=pass".into())
        );
        // No trusted server configured: nothing passes.
        assert_eq!(verdict(&[good], "", "acme.example"), Authenticated::Missing);
    }
}
