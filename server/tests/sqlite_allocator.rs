//! SQLite's allocations go through mimalloc once the binary says so (`server::memory`), and a
//! database opened afterwards works as before. A process of its own: SQLite takes an allocator
//! only before it first starts.

use libsqlite3_sys as ffi;
use std::ffi::{CStr, CString};

#[test]
fn sqlite_allocates_through_mimalloc_and_works_as_before() {
    assert_eq!(
        server::memory::sqlite_allocations_through_mimalloc(),
        Ok(())
    );
    // SAFETY: SQLite's documented C API, used as documented; every pointer is checked.
    unsafe {
        let p = ffi::sqlite3_malloc(1 << 20);
        assert!(!p.is_null());
        assert!(
            libmimalloc_sys::mi_is_in_heap_region(p),
            "SQLite's memory is mimalloc's"
        );
        let q = ffi::sqlite3_realloc(p, 3 << 20);
        assert!(!q.is_null() && libmimalloc_sys::mi_is_in_heap_region(q));
        assert!(ffi::sqlite3_msize(q) >= 3 << 20);
        ffi::sqlite3_free(q);

        let mut db = std::ptr::null_mut();
        let name = CString::new(":memory:").unwrap();
        assert_eq!(ffi::sqlite3_open(name.as_ptr(), &mut db), ffi::SQLITE_OK);
        let sql = CString::new(
            "CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT); \
             WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 20000) \
             INSERT INTO t SELECT n, printf('%0100d', n) FROM k;",
        )
        .unwrap();
        let mut error = std::ptr::null_mut();
        let rc = ffi::sqlite3_exec(db, sql.as_ptr(), None, std::ptr::null_mut(), &mut error);
        assert_eq!(
            rc,
            ffi::SQLITE_OK,
            "{:?}",
            (!error.is_null()).then(|| CStr::from_ptr(error))
        );
        let mut stmt = std::ptr::null_mut();
        let count = CString::new("SELECT count(*), sum(length(s)) FROM t ORDER BY 1").unwrap();
        assert_eq!(
            ffi::sqlite3_prepare_v2(db, count.as_ptr(), -1, &mut stmt, std::ptr::null_mut()),
            ffi::SQLITE_OK
        );
        assert_eq!(ffi::sqlite3_step(stmt), ffi::SQLITE_ROW);
        assert_eq!(ffi::sqlite3_column_int64(stmt, 0), 20_000);
        assert_eq!(ffi::sqlite3_column_int64(stmt, 1), 2_000_000);
        ffi::sqlite3_finalize(stmt);
        assert!(ffi::sqlite3_memory_used() > 0);
        assert_eq!(ffi::sqlite3_close(db), ffi::SQLITE_OK);
    }
    // Once SQLite has started, another allocator is refused and the first one stays.
    assert!(server::memory::sqlite_allocations_through_mimalloc().is_err());
}
