//! Password hashing (Argon2id, OWASP parameters) and the rules for new passwords.
//!
//! Hashing is deliberately slow and takes 19 MiB a time, so it runs on a small pool of threads of
//! its own (one per core by default), never on the async ones or on an unbounded number of blocking
//! threads: a flood of sign-ins then waits its turn — at most `password_queue_seconds`, then `Busy`
//! (503) — instead of running hundreds of hashes at once and keeping their memory.

use crate::domain::check_password_length;
use crate::error::AppError;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

/// m = 19 MiB, t = 2, p = 1: the OWASP minimum for Argon2id, which SPEC §3.4 requires.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            AppError::Internal
        })
}

pub fn verify_blocking(stored: &str, password: &str) -> bool {
    match PasswordHash::new(stored) {
        // Parameters come from the stored hash, so old hashes keep verifying if defaults change.
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads and the turns they give out.
struct Pool {
    jobs: std::sync::mpsc::SyncSender<Job>,
    turns: tokio::sync::Semaphore,
    wait: std::time::Duration,
}

static POOL: OnceLock<Pool> = OnceLock::new();

/// Sizes the pool (0 threads: one per core) and how long a caller waits for a turn. Takes effect
/// when called before the first hash; later calls change nothing.
pub fn configure(threads: usize, queue_seconds: u64) {
    let _ = POOL.get_or_init(|| Pool::start(threads, queue_seconds));
}

impl Pool {
    fn start(threads: usize, queue_seconds: u64) -> Pool {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            threads
        };
        // Room beyond the turns for jobs whose caller went away (its turn returned, the job not
        // yet run), so a turn always finds a free place.
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(threads * 8);
        let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
        for n in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || loop {
                    let job = match receiver.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                })
                .expect("start a password-hashing thread");
        }
        Pool {
            jobs,
            turns: tokio::sync::Semaphore::new(threads),
            wait: std::time::Duration::from_secs(queue_seconds),
        }
    }

    fn get() -> &'static Pool {
        POOL.get_or_init(|| Pool::start(0, 5))
    }

    /// Runs `work` on a hashing thread once a turn is free, or answers `Busy` after the wait.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let _turn = tokio::time::timeout(self.wait, self.turns.acquire())
            .await
            .map_err(|_| {
                tracing::warn!("password hashing queue full: request refused");
                AppError::Busy
            })?
            .map_err(|_| AppError::Internal)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        // Never blocks the async thread: with a turn there is a free place in the channel.
        self.jobs.try_send(job).map_err(|_| AppError::Internal)?;
        result.await.map_err(|_| AppError::Internal)
    }
}

pub async fn hash(password: String) -> Result<String, AppError> {
    Pool::get().run(move || hash_blocking(&password)).await?
}

/// Verifies `password` against `stored`; with no stored hash (unknown email, invited user) it
/// still spends the same work on a dummy hash, so timing does not tell whether the email exists.
/// `Busy` when no hashing turn came free in time.
pub async fn verify(stored: Option<String>, password: String) -> Result<bool, AppError> {
    Pool::get()
        .run(move || match stored {
            Some(stored) => verify_blocking(&stored, &password),
            None => {
                let _ = verify_blocking(dummy_hash(), &password);
                false
            }
        })
        .await
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("portcullis dummy password for timing").unwrap_or_default())
}

/// The rules for a new password: length, then a dictionary check that rejects common and easily
/// guessed passwords (zxcvbn, which also penalizes the person's own email and name).
pub fn check_new_password(password: &str, personal: &[&str]) -> Result<(), String> {
    check_password_length(password)?;
    let estimate = zxcvbn::zxcvbn(password, personal);
    if u8::from(estimate.score()) < 3 {
        let hint = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return Err(format!(
            "Choose a password that is harder to guess{hint}: it is too common or too simple"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip_and_wrong_password() {
        let h = hash_blocking("correct horse battery staple").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_blocking(&h, "correct horse battery staple"));
        assert!(!verify_blocking(&h, "correct horse battery stapler"));
        assert!(!verify_blocking("not a hash", "anything"));
    }

    #[test]
    fn hashes_are_salted() {
        assert_ne!(
            hash_blocking("same password twice").unwrap(),
            hash_blocking("same password twice").unwrap()
        );
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for common in [
            "password1234",
            "123456789012",
            "qwertyuiop123",
            "iloveyou1234",
            "aaaaaaaaaaaa",
        ] {
            assert!(
                check_new_password(common, &[]).is_err(),
                "{common} should be refused"
            );
        }
        assert!(
            check_new_password("ada.lovelace@example.com", &["ada.lovelace@example.com"]).is_err()
        );
        assert!(check_new_password("short", &[]).is_err());
        assert!(check_new_password("Tangerine-Orbit-Castle-42", &[]).is_ok());
    }
}
