// See include/CSQLiteFaultVFS.h. Every method forwards to the default VFS's file; only xSync looks at the flag.
#include "CSQLiteFaultVFS.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <string.h>

typedef struct FaultFile {
    sqlite3_file base;    // pMethods: fault_io
    sqlite3_file *real;   // the wrapped VFS's file, allocated right after this struct
} FaultFile;

static sqlite3_vfs *wrapped;
static sqlite3_vfs fault_vfs;
static atomic_int fail_sync;
static atomic_long failed_syncs;

#define REAL(file) (((FaultFile *)(file))->real)

static int fault_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int fault_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off) {
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}
static int fault_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off) {
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}
static int fault_truncate(sqlite3_file *f, sqlite3_int64 size) {
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int fault_sync(sqlite3_file *f, int flags) {
    if (atomic_load(&fail_sync)) {
        atomic_fetch_add(&failed_syncs, 1);
        return SQLITE_IOERR_FSYNC;
    }
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int fault_file_size(sqlite3_file *f, sqlite3_int64 *size) {
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int fault_lock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xLock(REAL(f), level); }
static int fault_unlock(sqlite3_file *f, int level) { return REAL(f)->pMethods->xUnlock(REAL(f), level); }
static int fault_check_reserved_lock(sqlite3_file *f, int *out) {
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int fault_file_control(sqlite3_file *f, int op, void *arg) {
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int fault_sector_size(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int fault_device_characteristics(sqlite3_file *f) {
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int fault_shm_map(sqlite3_file *f, int page, int size, int extend, void volatile **out) {
    return REAL(f)->pMethods->xShmMap(REAL(f), page, size, extend, out);
}
static int fault_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}
static void fault_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int fault_shm_unmap(sqlite3_file *f, int delete_flag) {
    return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}
static int fault_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out) {
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, out);
}
static int fault_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p) {
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

// Version 3 (WAL's shared memory, memory-mapped I/O): the unix VFS's own files are version 3.
static const sqlite3_io_methods fault_io = {
    3, fault_close, fault_read, fault_write, fault_truncate, fault_sync, fault_file_size, fault_lock, fault_unlock,
    fault_check_reserved_lock, fault_file_control, fault_sector_size, fault_device_characteristics, fault_shm_map,
    fault_shm_lock, fault_shm_barrier, fault_shm_unmap, fault_fetch, fault_unfetch,
};

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags) {
    (void)vfs;
    FaultFile *fault = (FaultFile *)file;
    fault->real = (sqlite3_file *)&fault[1];
    int rc = wrapped->xOpen(wrapped, name, fault->real, flags, out_flags);
    // SQLite calls xClose only when pMethods is set: set it only when the real file is open.
    file->pMethods = (rc == SQLITE_OK && fault->real->pMethods != NULL) ? &fault_io : NULL;
    if (rc == SQLITE_OK && fault->real->pMethods != NULL && fault->real->pMethods->iVersion < 3) {
        // Our methods forward xShm*/xFetch, which an older file lacks: refuse rather than crash.
        fault->real->pMethods->xClose(fault->real);
        file->pMethods = NULL;
        return SQLITE_CANTOPEN;
    }
    return rc;
}

static int fault_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
    (void)vfs;
    return wrapped->xDelete(wrapped, name, sync_dir);
}
static int fault_access(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
    (void)vfs;
    return wrapped->xAccess(wrapped, name, flags, out);
}
static int fault_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
    (void)vfs;
    return wrapped->xFullPathname(wrapped, name, n, out);
}
static void *fault_dl_open(sqlite3_vfs *vfs, const char *name) {
    (void)vfs;
    return wrapped->xDlOpen(wrapped, name);
}
static void fault_dl_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    wrapped->xDlError(wrapped, n, out);
}
static void (*fault_dl_sym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
    (void)vfs;
    return wrapped->xDlSym(wrapped, handle, symbol);
}
static void fault_dl_close(sqlite3_vfs *vfs, void *handle) {
    (void)vfs;
    wrapped->xDlClose(wrapped, handle);
}
static int fault_randomness(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    return wrapped->xRandomness(wrapped, n, out);
}
static int fault_sleep(sqlite3_vfs *vfs, int micros) {
    (void)vfs;
    return wrapped->xSleep(wrapped, micros);
}
static int fault_current_time(sqlite3_vfs *vfs, double *out) {
    (void)vfs;
    return wrapped->xCurrentTime(wrapped, out);
}
static int fault_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
    (void)vfs;
    return wrapped->xGetLastError ? wrapped->xGetLastError(wrapped, n, out) : 0;
}
static int fault_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
    (void)vfs;
    return wrapped->xCurrentTimeInt64(wrapped, out);
}

int bankgw_faultvfs_install(void) {
    if (wrapped != NULL) return SQLITE_OK;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK) return rc;
    sqlite3_vfs *base = sqlite3_vfs_find(NULL);
    if (base == NULL || base->iVersion < 2 || base->xCurrentTimeInt64 == NULL) return SQLITE_ERROR;
    wrapped = base;
    memset(&fault_vfs, 0, sizeof fault_vfs);
    fault_vfs.iVersion = 2;
    fault_vfs.szOsFile = (int)sizeof(FaultFile) + base->szOsFile;
    fault_vfs.mxPathname = base->mxPathname;
    fault_vfs.zName = "bankgw-fault";
    fault_vfs.xOpen = fault_open;
    fault_vfs.xDelete = fault_delete;
    fault_vfs.xAccess = fault_access;
    fault_vfs.xFullPathname = fault_full_pathname;
    fault_vfs.xDlOpen = fault_dl_open;
    fault_vfs.xDlError = fault_dl_error;
    fault_vfs.xDlSym = fault_dl_sym;
    fault_vfs.xDlClose = fault_dl_close;
    fault_vfs.xRandomness = fault_randomness;
    fault_vfs.xSleep = fault_sleep;
    fault_vfs.xCurrentTime = fault_current_time;
    fault_vfs.xGetLastError = fault_get_last_error;
    fault_vfs.xCurrentTimeInt64 = fault_current_time_int64;
    return sqlite3_vfs_register(&fault_vfs, 1);
}

void bankgw_faultvfs_set_fail_sync(int fail) { atomic_store(&fail_sync, fail ? 1 : 0); }

long bankgw_faultvfs_failed_syncs(void) { return atomic_load(&failed_syncs); }
