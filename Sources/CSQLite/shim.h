#ifndef BANKGW_CSQLITE_SHIM_H
#define BANKGW_CSQLITE_SHIM_H
// The system libsqlite3 (the one GRDB links). Macros and variadic calls are wrapped as prefixed static inline
// functions so Swift can call them; everything else is imported directly. WalletCore's `DirectStatement.swift` and
// `WALLength.swift` are the only Swift files that use this module.
#include <sqlite3.h>

// MARK: Process-wide configuration (sqlite3_config is variadic)

/// SQLITE_CONFIG_MEMSTATUS: 0 stops SQLite counting its allocations, which takes a process-wide mutex around every
/// sqlite3_malloc and sqlite3_free. Valid only before SQLite is initialized (SQLITE_MISUSE after).
static inline int bankgw_sqlite3_config_memstatus(int enabled) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, enabled);
}

/// Whether SQLite is counting its allocations (with MEMSTATUS off the malloc count stays 0).
static inline int bankgw_sqlite3_memstatus_enabled(void) {
    sqlite3_int64 current = 0, highwater = 0;
    sqlite3_status64(SQLITE_STATUS_MALLOC_COUNT, &current, &highwater, 0);
    return current != 0;
}

// MARK: Binding copies (SQLITE_TRANSIENT is a cast macro Swift cannot import)

static inline int bankgw_sqlite3_bind_text_copy(sqlite3_stmt *statement, int index, const char *text, int byteCount) {
    // An empty Swift string may have no storage: bind '' rather than the NULL a NULL pointer would bind.
    return sqlite3_bind_text(statement, index, text ? text : "", byteCount, SQLITE_TRANSIENT);
}
static inline int bankgw_sqlite3_bind_blob_copy(sqlite3_stmt *statement, int index, const void *bytes, int byteCount) {
    // A zero-length blob is a blob, not NULL: sqlite3_bind_blob with a NULL pointer would bind NULL.
    return byteCount == 0 ? sqlite3_bind_zeroblob(statement, index, 0)
                          : sqlite3_bind_blob(statement, index, bytes, byteCount, SQLITE_TRANSIENT);
}

#endif
