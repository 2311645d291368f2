import GatewayPolicy

/// Why the wallet core did not answer a request with a decision.
///
/// A decision (APPROVED / HELD / DECLINED) is a normal answer, never an error. These are the cases the gRPC layer
/// turns into a status (SPEC §3); each case says which. Every case names what it is about, so the status message a
/// bank or operator sees can name the field or rule.
public enum WalletError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `(bank, request_id)` was answered before for a different body. → ALREADY_EXISTS (and a fraud alert).
    case duplicateRequestDifferentBody(bankCode: String, requestID: String)
    /// `(bank, request_id)` was used by a charge older than the idempotency retention, whose stored response has
    /// been pruned: the id stays consumed, but the body can no longer be compared. → ALREADY_EXISTS.
    case requestIDExpired(bankCode: String, requestID: String)
    /// The first request with this `(bank, request_id)` is still in the writer's queue. → ABORTED (safe to retry).
    case requestInFlight(bankCode: String, requestID: String)
    /// The checks refused to judge the request; nothing was written and the request id is not consumed.
    case rejected(Rejection)
    /// The named thing does not exist (or belongs to another bank, which must not learn it exists). → NOT_FOUND.
    case notFound(String)
    /// An operator tried to create something that exists. → ALREADY_EXISTS.
    case alreadyExists(String)
    /// An operator write that the current state forbids (no recent conformance run, hold not open, cap). →
    /// FAILED_PRECONDITION.
    case failedPrecondition(String)
    /// A position outside what is kept or was ever issued (a `WatchEvents` sequence). → OUT_OF_RANGE.
    case outOfRange(String)
    /// A malformed argument that the codec should already have refused. → INVALID_ARGUMENT.
    case invalidArgument(String)
    /// The writer's queue is at `WalletLimits.maxPendingWrites`. → UNAVAILABLE (retry later).
    case overloaded(String)
    /// The database could not be opened, read or written (names the file or the SQLite error). → UNAVAILABLE.
    case storeUnavailable(String)
    /// Our bug: the store broke one of its own rules (a constraint the code should never hit). → INTERNAL.
    case invariantViolated(String)

    public var description: String {
        switch self {
        case .duplicateRequestDifferentBody(let bank, let id):
            return "request_id \(id) of bank \(bank) was already used with a different body"
        case .requestIDExpired(let bank, let id):
            return "request_id \(id) of bank \(bank) was used by a charge older than the idempotency retention"
        case .requestInFlight(let bank, let id):
            return "request_id \(id) of bank \(bank) is still being processed; retry"
        case .rejected(let rejection): return rejection.description
        case .notFound(let what): return "\(what) not found"
        case .alreadyExists(let what): return "\(what) already exists"
        case .failedPrecondition(let why): return why
        case .outOfRange(let why): return why
        case .invalidArgument(let why): return why
        case .overloaded(let why): return why
        case .storeUnavailable(let why): return why
        case .invariantViolated(let why): return "wallet store invariant violated: \(why)"
        }
    }
}
