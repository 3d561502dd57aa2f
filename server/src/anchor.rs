//! Audit anchors: the head of every audit chain, signed with an Ed25519 key kept outside the
//! database (SPEC §6).
//!
//! The hash chain finds an entry edited, deleted or reordered behind the portal's back, but someone
//! who can write the database can also recompute every hash after their edit, and the chain would
//! verify again. An anchor written now (by `portcullis audit-anchor`, or by `serve` on a schedule)
//! records each chain's last sequence number and hash under a signature the database cannot make;
//! `verify-audit --anchor FILE` then requires every chain to still hold exactly those entries, so
//! any rewrite or truncation of what the anchor covers is found. Keep anchors where the database's
//! administrators cannot change them (another machine, write-once storage).

use app::server::db::{on_db, Db};
use app::server::Settings;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What is signed: the chain heads at one moment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnchorBody {
    pub version: u32,
    pub created_at: i64,
    pub chains: Vec<AnchoredChain>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AnchoredChain {
    pub chain: String,
    pub seq: i64,
    pub hash: String,
}

/// An anchor file: the body, the public key that signed it and the signature (both hex).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Anchor {
    pub anchor: AnchorBody,
    pub public_key: String,
    pub signature: String,
}

/// The signing key: `audit_anchor_key` (the 32-byte seed itself, hex or base64, e.g. from
/// `PORTCULLIS_AUDIT_ANCHOR_KEY`) or the file `audit_anchor_key_file` holding it.
pub fn signing_key(settings: &Settings) -> Result<SigningKey, String> {
    let text = if !settings.audit_anchor_key.expose().is_empty() {
        settings.audit_anchor_key.expose().to_string()
    } else if !settings.audit_anchor_key_file.is_empty() {
        std::fs::read_to_string(&settings.audit_anchor_key_file).map_err(|e| {
            format!(
                "cannot read the audit anchor key file {}: {e}",
                settings.audit_anchor_key_file
            )
        })?
    } else {
        return Err("no audit anchor key: set audit_anchor_key_file (or PORTCULLIS_AUDIT_ANCHOR_KEY); `portcullis audit-anchor --generate-key FILE` makes one".into());
    };
    let seed = parse_key_bytes(text.trim())?;
    Ok(SigningKey::from_bytes(&seed))
}

fn parse_key_bytes(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .map_err(|_| "the audit anchor key must be 32 bytes in hex or base64".to_string())?;
    bytes
        .try_into()
        .map_err(|_| "the audit anchor key must be exactly 32 bytes".to_string())
}

/// A public key given in hex (as `audit-anchor --generate-key` prints it).
pub fn public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = parse_key_bytes(text.trim())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not an Ed25519 public key".to_string())
}

/// Writes a new random key to `path` (readable by its owner only; an existing file is never
/// overwritten) and answers its public key.
pub fn generate_key_file(path: &Path) -> Result<VerifyingKey, String> {
    use rand::RngCore;
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{}\n", hex::encode(seed)).as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key.verifying_key())
}

/// Reads every chain head and signs them.
pub async fn make(db: &Db, key: &SigningKey, now: i64) -> Result<Anchor, app::error::AppError> {
    let heads: Vec<(String, i64, String)> = on_db!(db, |c| sqlx::query_as(
        "SELECT chain_key, seq, hash FROM audit_chain_heads ORDER BY chain_key"
    )
    .fetch_all(c)
    .await)?;
    let anchor = AnchorBody {
        version: 1,
        created_at: now,
        chains: heads
            .into_iter()
            .map(|(chain, seq, hash)| AnchoredChain { chain, seq, hash })
            .collect(),
    };
    let signature = key.sign(&signed_bytes(&anchor));
    Ok(Anchor {
        anchor,
        public_key: hex::encode(key.verifying_key().as_bytes()),
        signature: hex::encode(signature.to_bytes()),
    })
}

fn signed_bytes(body: &AnchorBody) -> Vec<u8> {
    let mut bytes = b"portcullis-audit-anchor\n".to_vec();
    bytes.extend(serde_json::to_vec(body).expect("an anchor always serializes"));
    bytes
}

/// Writes `anchor` into `dir` as `audit-anchor-<time>.json` (whole or not at all) and answers the
/// file's path.
pub fn write(dir: &Path, anchor: &Anchor) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = format!("audit-anchor-{}.json", anchor.anchor.created_at);
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(anchor).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}

/// What checking the trail against an anchor found: one line per chain that no longer holds what
/// the anchor recorded. An anchor that is not genuine is an error, not a finding.
pub async fn check(
    db: &Db,
    anchor_json: &str,
    trusted: &VerifyingKey,
) -> Result<Vec<String>, String> {
    let anchor: Anchor =
        serde_json::from_str(anchor_json).map_err(|e| format!("not an audit anchor: {e}"))?;
    if anchor.public_key != hex::encode(trusted.as_bytes()) {
        return Err("the anchor was signed with another key than the trusted one".into());
    }
    let signature = hex::decode(&anchor.signature)
        .ok()
        .and_then(|b| Signature::from_slice(&b).ok())
        .ok_or("the anchor's signature is malformed")?;
    trusted
        .verify(&signed_bytes(&anchor.anchor), &signature)
        .map_err(|_| "the anchor's signature does not match its contents".to_string())?;
    let mut findings = Vec::new();
    for chain in &anchor.anchor.chains {
        let stored: Option<String> = on_db!(db, |c| sqlx::query_scalar(
            "SELECT hash FROM audit_log WHERE chain_key = $1 AND seq = $2"
        )
        .bind(&chain.chain)
        .bind(chain.seq)
        .fetch_optional(c)
        .await)
        .map_err(|e| format!("database error: {e}"))?;
        match stored {
            None => findings.push(format!(
                "chain {} no longer has entry {} that the anchor of {} recorded (truncated or deleted)",
                chain.chain, chain.seq, anchor.anchor.created_at
            )),
            Some(hash) if hash != chain.hash => findings.push(format!(
                "chain {} was rewritten at or before entry {}: its hash differs from the anchor of {}",
                chain.chain, chain.seq, anchor.anchor.created_at
            )),
            Some(_) => {}
        }
    }
    Ok(findings)
}

/// Writes a signed anchor into `audit_anchor_dir` every `audit_anchor_minutes` while serving.
pub fn spawn_schedule(
    db: Db,
    settings: &Settings,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    if settings.audit_anchor_dir.is_empty() {
        return Ok(None);
    }
    let key = signing_key(settings)?;
    let dir = PathBuf::from(&settings.audit_anchor_dir);
    let every = std::time::Duration::from_secs(settings.audit_anchor_minutes.max(1) * 60);
    Ok(Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match make(&db, &key, app::server::now()).await {
                Ok(anchor) => match write(&dir, &anchor) {
                    Ok(path) => {
                        tracing::info!(path = %path.display(), chains = anchor.anchor.chains.len(), "audit anchor written")
                    }
                    Err(e) => tracing::error!(error = %e, "audit anchor not written"),
                },
                Err(e) => tracing::error!(error = %e, "audit anchor not made"),
            }
        }
    })))
}
