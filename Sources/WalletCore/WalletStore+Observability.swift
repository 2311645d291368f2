import Foundation
import GRDB
import GatewayWire
import Synchronization

/// What the single writer reports after each batch, for metrics: how many writes the commit carried, how long the
/// commit (the fsync) took, and how many requests were still queued behind it; and how long the write-ahead log is
/// after it, in frames (pages), when the batch wrote to it.
public struct WriterEvents: Sendable {
    public var batchCommitted: @Sendable (_ writes: Int, _ commit: Duration, _ queued: Int) -> Void = { _, _, _ in }
    public var logLength: @Sendable (_ walFrames: Int) -> Void = { _ in }
    public init() {}
}

/// The W3C trace id of the request being written, carried from the caller's task into its audit entries.
///
/// `LedgerWrite` captures the value at submission (in the caller's task) and binds it again while it applies on
/// the writer's queue, so `Ledger.audit` stamps every entry the request writes, with no parameter threaded through
/// each request path. Empty: none (operator commands, start-up).
public enum AuditTrace {
    @TaskLocal public static var traceID = ""
}

/// Events set once at start-up (`WalletStore.observeWriter`), read by the writer after every batch.
final class WriterEventsBox: Sendable {
    private let events = Mutex(WriterEvents())
    func set(_ value: WriterEvents) { events.withLock { $0 = value } }
    var current: WriterEvents { events.withLock { $0 } }
}

extension WalletStore {
    /// Reports every committed batch to `events` (the metrics of `bankgw_ledger_*`).
    public func observeWriter(_ events: WriterEvents) {
        writerEvents.set(events)
    }

    /// Charges held and not yet released or rejected (`bankgw_holds_open`).
    public func openHoldCount() async throws(WalletError) -> Int {
        try await read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM charge WHERE hold_state = ?",
                arguments: [HoldState.open.rawValue]) ?? 0
        }
    }
}
