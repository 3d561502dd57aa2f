//! The codes of a second factor, without storage: time-based one-time passwords (RFC 6238, by
//! `totp-rs`) as every authenticator app makes them, the QR code that hands an app its secret,
//! and one-time recovery codes.

use qrcode::render::svg;
use qrcode::QrCode;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per code: what authenticator apps assume when the URI names none.
pub const STEP_SECONDS: i64 = 30;
/// How many recovery codes a person holds.
pub const RECOVERY_CODES: usize = 10;

/// A new secret: 160 random bits (RFC 4226's recommended length), base32 as apps take it typed.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(text) => text,
        Secret::Raw(_) => unreachable!("to_encoded answers an encoded secret"),
    }
}

fn totp(secret: &str, issuer: &str, account: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().ok()?;
    // `issuer` and `account` go into the otpauth URI; neither may hold a colon there.
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP_SECONDS as u64,
        bytes,
        Some(issuer.replace(':', " ")),
        account.replace(':', " "),
    )
    .ok()
}

/// The `otpauth://` URI an authenticator app reads from the QR code.
pub fn otpauth_uri(secret: &str, issuer: &str, account: &str) -> String {
    totp(secret, issuer, account)
        .map(|t| t.get_url())
        .unwrap_or_default()
}

/// `uri` as a QR code in SVG, dark on light whatever the page's colours, to put in the page.
pub fn qr_svg(uri: &str) -> String {
    match QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
        Err(_) => String::new(),
    }
}

/// The code `secret` gives at time step `step` (for tests and the sign-in helpers of the tests).
pub fn code_at(secret: &str, step: i64) -> String {
    totp(secret, "-", "-")
        .map(|t| t.generate((step * STEP_SECONDS) as u64))
        .unwrap_or_default()
}

/// The time step `code` belongs to, when it is `secret`'s code for the step of `now` or the one
/// before or after (a clock a little off, a code typed as it changed) and newer than
/// `last_used_step`: a code works once, and no older code works after a newer one did.
pub fn matching_step(secret: &str, code: &str, now: i64, last_used_step: i64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "-", "-")?;
    let current = now.div_euclid(STEP_SECONDS);
    [current - 1, current, current + 1]
        .into_iter()
        .filter(|step| *step > last_used_step)
        .find(|step| {
            let expected = t.generate((*step * STEP_SECONDS) as u64);
            // Compared in constant time, so timing tells nothing of the expected digits.
            constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `input` looks like a six-digit app code rather than a recovery code.
pub fn is_app_code(input: &str) -> bool {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())
}

/// Letters and digits that cannot be mistaken for one another when read off paper.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Ten new recovery codes, `xxxx-xxxx-xxxx` (about 59 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = (0..12)
                .map(|_| RECOVERY_ALPHABET[rng.gen_range(0..RECOVERY_ALPHABET.len())] as char)
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its letters, whatever case, spaces or dashes
/// it was typed with. The codes are long random strings, so a fast hash is enough.
pub fn recovery_hash(input: &str) -> String {
    let letters: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(letters.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 test secret "12345678901234567890" at T = 59 s gives
    /// 94287082 (eight digits); its last six are what a six-digit app shows.
    #[test]
    fn codes_follow_rfc_6238() {
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!(),
        };
        assert_eq!(code_at(&secret, 1), "287082");
        // T = 1111111109 s → 07081804; T = 1234567890 s → 89005924.
        assert_eq!(code_at(&secret, 1111111109 / 30), "081804");
        assert_eq!(code_at(&secret, 1234567890 / 30), "005924");
    }

    #[test]
    fn a_code_works_within_one_step_and_only_once() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let step = now / STEP_SECONDS;
        let code = code_at(&secret, step);
        assert_eq!(matching_step(&secret, &code, now, 0), Some(step));
        assert_eq!(matching_step(&secret, &code, now + 30, 0), Some(step));
        assert_eq!(matching_step(&secret, &code, now + 90, 0), None, "too old");
        assert_eq!(matching_step(&secret, &code, now, step), None, "used");
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(&secret, &spaced, now, 0), Some(step));
        assert_eq!(matching_step(&secret, "12345", now, 0), None);
        assert_eq!(matching_step(&secret, "abcdef", now, 0), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 14);
        assert_eq!(
            recovery_hash(code),
            recovery_hash(&code.to_uppercase().replace('-', " "))
        );
        assert!(!is_app_code(code));
        assert!(is_app_code("123 456"));
    }

    #[test]
    fn the_uri_names_the_portal_and_the_person() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "Portcullis", "ann@acme.example");
        assert!(uri.starts_with("otpauth://totp/Portcullis:ann%40acme.example?"));
        assert!(uri.contains(&format!("secret={secret}")));
        assert!(qr_svg(&uri).starts_with("<?xml"));
    }
}
