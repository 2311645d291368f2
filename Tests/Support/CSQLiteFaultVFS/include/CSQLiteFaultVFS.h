// A test-only SQLite VFS that wraps the default one and can make every xSync fail (SQLITE_IOERR_FSYNC), to show
// what the wallet core does when the fsync of a commit fails. Registered as the process's default VFS, so every
// connection opened afterwards goes through it; with the flag clear it only forwards.
#ifndef CSQLITE_FAULT_VFS_H
#define CSQLITE_FAULT_VFS_H

/// Registers the wrapping VFS as the default (idempotent). Returns SQLITE_OK (0) or an SQLite error code.
int bankgw_faultvfs_install(void);

/// While `fail` is non-zero, every xSync of every file returns SQLITE_IOERR_FSYNC without syncing.
void bankgw_faultvfs_set_fail_sync(int fail);

/// How many xSync calls have been failed so far.
long bankgw_faultvfs_failed_syncs(void);

#endif
