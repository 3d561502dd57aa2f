//! How the allocator (mimalloc, the binary's global allocator) gives memory back.
//!
//! By default mimalloc commits its arenas eagerly and purges freed pages only after a second, and
//! only when the thread that freed them calls on it again, so memory used once (the search index
//! rebuilt at start, a burst of pages, a thread that then idles) stayed in the process for good.
//! The portal asks it to return freed pages at once. An option the service's environment sets
//! (`MIMALLOC_ARENA_EAGER_COMMIT`, `MIMALLOC_PURGE_DELAY`) is left as it says.

use libmimalloc_sys::mi_option_t;

/// Options of mimalloc, numbered as in the `mi_option_e` enum of the bundled mimalloc v3 header
/// (`libmimalloc-sys` names only some of them; the test below checks these are the ones meant).
const ARENA_EAGER_COMMIT: mi_option_t = 4;
const PURGE_DELAY: mi_option_t = 15;

/// What the portal sets: option, the environment variable that overrides it, value.
const SETTINGS: [(mi_option_t, &str, std::os::raw::c_long); 2] = [
    (ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT", 0),
    (PURGE_DELAY, "MIMALLOC_PURGE_DELAY", 0),
];

/// Freed memory goes back to the system at once. Call it first in `main`, before any other
/// thread exists.
pub fn return_freed_memory() {
    for (option, env, value) in SETTINGS {
        if std::env::var_os(env).is_none() {
            // SAFETY: sets a global option of the allocator by a number its header defines;
            // called before any other thread of the process exists.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
}

/// SQLite's allocations (its page caches, prepared statements and sorts, made on each
/// connection's own thread) go through mimalloc too, so they are given back as promptly as the
/// rest. Through the C library's malloc each connection thread had an arena of its own, and the
/// freed memory stayed in them. Call it in `main` before any database is opened (SQLite refuses a
/// new allocator once it is initialized; it then keeps the C library's, and this returns its code).
pub fn sqlite_allocations_through_mimalloc() -> Result<(), std::os::raw::c_int> {
    use libsqlite3_sys as ffi;
    use std::os::raw::{c_int, c_void};

    // SQLite asks for sizes as C ints and never for more than `c_int::MAX` (its own limit).
    unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
        // SAFETY: mimalloc's malloc, for any size.
        unsafe { libmimalloc_sys::mi_malloc(size.max(0) as usize) }
    }
    unsafe extern "C" fn free(p: *mut c_void) {
        // SAFETY: `p` came from `malloc`/`realloc` above (SQLite frees only what it allocated).
        unsafe { libmimalloc_sys::mi_free(p) }
    }
    unsafe extern "C" fn realloc(p: *mut c_void, size: c_int) -> *mut c_void {
        // SAFETY: as `free`.
        unsafe { libmimalloc_sys::mi_realloc(p, size.max(0) as usize) }
    }
    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        // SAFETY: as `free`.
        let n = unsafe { libmimalloc_sys::mi_usable_size(p) };
        n.min(c_int::MAX as usize) as c_int
    }
    unsafe extern "C" fn roundup(size: c_int) -> c_int {
        // SAFETY: a pure function of the size.
        let n = unsafe { libmimalloc_sys::mi_good_size(size.max(0) as usize) };
        n.min(c_int::MAX as usize) as c_int
    }
    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }
    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    // SQLite copies the methods when configured.
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(malloc),
        xFree: Some(free),
        xRealloc: Some(realloc),
        xSize: Some(size),
        xRoundup: Some(roundup),
        xInit: Some(init),
        xShutdown: Some(shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: SQLITE_CONFIG_MALLOC takes a pointer to the methods, which it copies; called before
    // SQLite is initialized (else it refuses with SQLITE_MISUSE and changes nothing).
    let rc = unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &methods as *const _) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(rc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_set_are_the_arena_commit_and_the_purge_delay() {
        if SETTINGS
            .iter()
            .any(|(_, env, _)| std::env::var_os(env).is_some())
        {
            return;
        }
        // The bundled version's defaults (its `options.c`) identify the options behind the
        // numbers: arenas committed eagerly on overcommitting systems (2), purges delayed 1 s.
        // SAFETY: reads global options.
        let defaults = unsafe {
            (
                libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
            )
        };
        assert_eq!(defaults, (2, 1000));
        return_freed_memory();
        // SAFETY: as above.
        let set = unsafe {
            (
                libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
            )
        };
        assert_eq!(set, (0, 0));
    }
}
