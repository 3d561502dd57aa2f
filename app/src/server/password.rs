//! Password hashing (Argon2id, OWASP parameters) and the rules for new passwords.
//!
//! Hashing is deliberately slow and takes 19 MiB a time, so it runs on a small pool of threads of
//! its own (one per core by default), never on the async ones or on an unbounded number of blocking
//! threads: a flood of sign-ins then waits its turn — at most `password_queue_seconds`, then `Busy`
//! (503) — instead of running hundreds of hashes at once and keeping their memory.

use crate::error::AppError;
use crate::model::domain::check_password_length;
use argon2::password_hash;
use argon2::password_hash::{
    rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::cell::RefCell;
use std::sync::OnceLock;

/// m = 19 MiB, t = 2, p = 1: the OWASP minimum for Argon2id, which SPEC §3.4 requires.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

thread_local! {
    /// This thread's Argon2 working memory, allocated once and reused by every hash it computes
    /// while sign-ins keep coming. argon2's own `hash_password`/`verify_password` allocate 19 MiB
    /// per call, and glibc kept each of those on the heap: every checked password grew the process
    /// by 19 MiB (measured: 450 MB after 23 failed sign-ins). With the memory kept here, the
    /// hashing pool holds at most one block per thread, whatever the number of sign-ins; a thread
    /// with no work for [`IDLE`] lets its block go ([`release_memory`]).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// How long a hashing thread waits for work before it lets its working memory go.
const IDLE: std::time::Duration = if cfg!(test) {
    std::time::Duration::from_millis(50)
} else {
    std::time::Duration::from_secs(10)
};

/// How many of the pool's hashing threads hold working memory now.
static HOLDING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// Whether this hashing thread is counted in [`HOLDING`].
    static COUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Counts this hashing thread in [`HOLDING`] if it now holds working memory.
fn count_memory() {
    let holds = MEMORY.with(|memory| !memory.borrow().is_empty());
    if holds && !COUNTED.replace(true) {
        HOLDING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Frees this hashing thread's working memory, if it holds any.
fn release_memory() {
    MEMORY.with(|memory| *memory.borrow_mut() = Vec::new());
    if COUNTED.replace(false) {
        HOLDING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Argon2 of `password` with `salt` into an output of `len` bytes, in this thread's memory.
/// The same steps as argon2's `PasswordHasher::hash_password`, so the hashes are identical.
fn compute(
    argon: &Argon2<'_>,
    password: &[u8],
    salt: &Salt<'_>,
    len: usize,
) -> password_hash::Result<Output> {
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes)?;
    let blocks = argon.params().block_count();
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        Output::init_with(len, |out| {
            Ok(argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])?)
        })
    })
}

pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = hasher();
    let hashed = compute(
        &argon,
        password.as_bytes(),
        &salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )
    .and_then(|output| {
        Ok(PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(argon.params())?,
            salt: Some(salt.as_salt()),
            hash: Some(output),
        }
        .to_string())
    });
    hashed.map_err(|e| {
        tracing::error!(error = %e, "password hashing failed");
        AppError::Internal
    })
}

/// Whether `password` is the one `stored` (a PHC string) was made from. Algorithm, version and
/// parameters come from the stored hash, so old hashes keep verifying if the defaults change; the
/// comparison is constant-time (`Output`'s equality).
pub fn verify_blocking(stored: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let Ok(version) = parsed.version.map(Version::try_from).transpose() else {
        return false;
    };
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params);
    compute(&argon, password.as_bytes(), &salt, expected.len())
        .is_ok_and(|output| output == expected)
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
                    use std::sync::mpsc::RecvTimeoutError;
                    // Waiting with a limit, so each thread, when it gets its turn at the
                    // receiver and finds no work, frees its memory (a thread blocked in `recv`
                    // would keep the others from ever finding the pool idle).
                    let job = match receiver.lock() {
                        Ok(r) => r.recv_timeout(IDLE),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(RecvTimeoutError::Timeout) => release_memory(),
                        Err(RecvTimeoutError::Disconnected) => return,
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
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let _turn = tokio::time::timeout(self.wait, self.turns.acquire())
            .await
            .map_err(|_| {
                tracing::warn!("password hashing queue full: request refused");
                AppError::Busy
            })?
            .map_err(|_| AppError::Internal)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let result = work();
            count_memory();
            let _ = done.send(result);
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
    fn hashes_agree_with_argon2s_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_blocking("Tangerine-Orbit-Castle-42").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(hasher()
            .verify_password(b"Tangerine-Orbit-Castle-42", &parsed)
            .is_ok());
        assert!(hasher()
            .verify_password(b"Tangerine-Orbit-Castle-43", &parsed)
            .is_err());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = hasher()
            .hash_password(b"Tangerine-Orbit-Castle-42", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking(&theirs, "Tangerine-Orbit-Castle-42"));
        assert!(!verify_blocking(&theirs, "tangerine-Orbit-Castle-42"));
        // Other parameters (an older default) verify with their own.
        let old = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 3, 1, None).unwrap(),
        )
        .hash_password(b"kept from before", &salt)
        .unwrap()
        .to_string();
        assert!(verify_blocking(&old, "kept from before"));
        assert!(!verify_blocking(&old, "changed since"));
    }

    /// The pool's threads keep their working memory between sign-ins and let it go once idle.
    #[tokio::test]
    async fn idle_hashing_threads_let_their_memory_go() {
        use std::sync::atomic::Ordering;
        let stored = hash("Tangerine-Orbit-Castle-42".to_string()).await.unwrap();
        assert!(!verify(Some(stored.clone()), "wrong".to_string())
            .await
            .unwrap());
        assert!(
            HOLDING.load(Ordering::Relaxed) >= 1,
            "kept between sign-ins"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while HOLDING.load(Ordering::Relaxed) > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(IDLE).await;
        }
        assert_eq!(
            HOLDING.load(Ordering::Relaxed),
            0,
            "the idle pool holds none"
        );
        assert!(
            verify(Some(stored), "Tangerine-Orbit-Castle-42".to_string())
                .await
                .unwrap()
        );
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
