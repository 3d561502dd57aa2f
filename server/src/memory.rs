//! How the allocator (mimalloc, the binary's global allocator) gives memory back.
//!
//! By default mimalloc commits its arenas eagerly and purges freed pages only after a second, and
//! only when the thread that freed them calls on it again, so memory used once (the search index
//! rebuilt at start, a burst of pages, a thread that then idles) stayed in the process for good.
//! The portal asks it to return freed pages at once.
//!
//! SQLite is C and allocates through the C library's `malloc`, not mimalloc. glibc gives every
//! thread that allocates an arena of its own (up to eight per core) and keeps freed memory in each;
//! each SQLite connection runs on a thread of its own, so its page cache and prepared statements
//! were spread over as many arenas, each keeping its high-water mark. The portal caps glibc at two
//! arenas: on SQLite at a million cases the anonymous memory after a round of busy pages went from
//! 115–130 MB to 90–98 MB, at the same speed.
//!
//! An option the service's environment sets (`MIMALLOC_ARENA_EAGER_COMMIT`,
//! `MIMALLOC_PURGE_DELAY`, `MALLOC_ARENA_MAX`) is left as it says.

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

/// glibc's arenas for C code (SQLite): two, shared by every thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const C_ARENAS: libc::c_int = 2;

/// Freed memory goes back to the system at once, and C code's allocations share two arenas. Call
/// it first in `main`, before any other thread exists.
pub fn return_freed_memory() {
    for (option, env, value) in SETTINGS {
        if std::env::var_os(env).is_none() {
            // SAFETY: sets a global option of the allocator by a number its header defines;
            // called before any other thread of the process exists.
            unsafe { libmimalloc_sys::mi_option_set(option, value) };
        }
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt sets a parameter of glibc's malloc; called before other threads exist.
        let done = unsafe { libc::mallopt(libc::M_ARENA_MAX, C_ARENAS) };
        if done != 1 {
            eprintln!("warning: could not limit the C library's malloc arenas");
        }
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
