//! A statement timeout for SQLite, which has none of its own (PostgreSQL's `statement_timeout` is
//! set on its connections instead).
//!
//! SQLite can say when a statement starts (`sqlite3_trace_v2` with `SQLITE_TRACE_STMT`) and call
//! back every few thousand virtual-machine steps while one runs (`sqlite3_progress_handler`), which
//! may interrupt it. sqlx wraps the second but not the first, so both are registered here through
//! the SQLite library sqlx links, on each new pool connection: a statement running longer than the
//! limit is interrupted (`SQLITE_INTERRUPT`), its transaction rolled back, and the connection is
//! ready for the next one. A transaction of many quick statements is never cut short.

use libsqlite3_sys as ffi;
use std::ffi::{c_int, c_uint, c_void};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Virtual-machine steps between two looks at the clock (a few microseconds of work).
const STEPS_BETWEEN_CHECKS: c_int = 10_000;

/// The state both callbacks share, one per connection. It lives as long as the connection; as
/// SQLite gives no hook at close, it is leaked then (a few bytes per connection ever opened).
struct Clock {
    started_ms: AtomicI64,
    limit_ms: i64,
}

fn now_ms() -> i64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as i64
}

unsafe extern "C" fn on_trace(
    mask: c_uint,
    ctx: *mut c_void,
    _p: *mut c_void,
    _x: *mut c_void,
) -> c_int {
    if mask == ffi::SQLITE_TRACE_STMT as c_uint {
        // SAFETY: `ctx` is the `Clock` registered with this callback, never freed.
        let clock = unsafe { &*(ctx as *const Clock) };
        clock.started_ms.store(now_ms(), Ordering::Relaxed);
    }
    0
}

unsafe extern "C" fn on_progress(ctx: *mut c_void) -> c_int {
    // SAFETY: as above.
    let clock = unsafe { &*(ctx as *const Clock) };
    let running = now_ms() - clock.started_ms.load(Ordering::Relaxed);
    c_int::from(running > clock.limit_ms)
}

/// Interrupts any statement of `conn` that runs longer than `limit`.
pub async fn install(
    conn: &mut sqlx::SqliteConnection,
    limit: std::time::Duration,
) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let clock = Box::into_raw(Box::new(Clock {
        started_ms: AtomicI64::new(now_ms()),
        limit_ms: limit.as_millis() as i64,
    }));
    // SAFETY: `db` is this connection's open handle, held locked; `clock` outlives it.
    unsafe {
        ffi::sqlite3_trace_v2(
            db,
            ffi::SQLITE_TRACE_STMT as c_uint,
            Some(on_trace),
            clock.cast(),
        );
        ffi::sqlite3_progress_handler(db, STEPS_BETWEEN_CHECKS, Some(on_progress), clock.cast());
    }
    Ok(())
}
