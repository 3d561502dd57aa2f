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
