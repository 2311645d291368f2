import COpenSSL

/// The process's one OpenSSL initialisation.
///
/// Why: by default OpenSSL registers `OPENSSL_cleanup` with `atexit`, which frees its global locks while other
/// threads may still be inside OpenSSL — an event-loop thread closing a TLS connection as a CLI command returns
/// crashed `bankgw admin` at exit (a NULL rwlock in `__pthread_rwlock_unlock`). The operating system frees
/// everything at exit anyway, so the cleanup is skipped. Must run before any other OpenSSL call of the process.
public enum OpenSSLLibrary {
    private static let initialized: Bool = {
        OPENSSL_init_ssl(
            UInt64(OPENSSL_INIT_NO_ATEXIT) | UInt64(OPENSSL_INIT_LOAD_SSL_STRINGS)
                | UInt64(OPENSSL_INIT_LOAD_CRYPTO_STRINGS), nil) == 1
    }()

    /// Initialises OpenSSL without its exit-time cleanup (idempotent, thread-safe). Returns false if OpenSSL
    /// refused, which only happens when it is out of memory.
    @discardableResult
    public static func initialize() -> Bool { initialized }
}
