import Foundation
import GRDB
import GatewayCrypto

/// One entry of the append-only audit log: who did what to which subject, when and why.
public struct AuditEntry: Sendable, Hashable {
    /// Position in the chain, 1 for the first entry, contiguous.
    public var id: Int64
    public var atUnixMs: Int64
    /// `operator/NAME`, `bank/NNNN` or `gateway`.
    public var actor: String
    /// e.g. `bank.set_state`, `charge.held`, `link.declined`.
    public var action: String
    /// What the act was about: a bank code, wallet id, charge id or link id.
    public var subject: String
    /// The operator's reason, or for a gateway decision the policy rule that decided.
    public var reason: String
    public var detail: String
    /// The W3C trace id (32 hex digits) of the request that wrote the entry; empty when none (operator commands
    /// before v7-trace-id, start-up). Hashed only when present, so entries written before it keep their hashes.
    public var traceID = ""
    /// The previous entry's `hash`; 32 zero bytes for the first entry.
    public var prevHash: [UInt8]
    /// SHA-256(prevHash ‖ canonical content), see `AuditChain.hash(of:after:)`.
    public var hash: [UInt8]

    init(row: Row, prevHash: [UInt8], hash: [UInt8]) {
        self.init(
            id: row["id"], atUnixMs: row["at_unix_ms"], actor: row["actor"], action: row["action"],
            subject: row["subject"], reason: row["reason"], detail: row["detail"], prevHash: prevHash, hash: hash)
        self.traceID = row.hasColumn("trace_id") ? (row["trace_id"] as String?) ?? "" : ""
    }

    init(
        id: Int64, atUnixMs: Int64, actor: String, action: String, subject: String, reason: String, detail: String,
        prevHash: [UInt8], hash: [UInt8]
    ) {
        self.id = id
        self.atUnixMs = atUnixMs
        self.actor = actor
        self.action = action
        self.subject = subject
        self.reason = reason
        self.detail = detail
        self.prevHash = prevHash
        self.hash = hash
    }

    /// A row read back with its stored chain columns (NULL reads as empty, which never verifies).
    init(storedRow row: Row) {
        self.init(
            row: row, prevHash: (row["prev_hash"] as Data?).map(Array.init) ?? [],
            hash: (row["hash"] as Data?).map(Array.init) ?? [])
    }
}

/// The audit log's hash chain: editing, inserting, deleting or reordering any entry breaks the chain at that entry.
///
/// What it does not prove: that the newest entries were not cut off together with the sequence counter, nor that
/// someone who can write the file did not rebuild the whole chain. Publishing `head` elsewhere closes both.
public enum AuditChain {
    /// The `prev_hash` of the first entry.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    /// SHA-256(previous ‖ canonical(entry)). Canonical content is every column but the hashes, each as a netstring
    /// (`<byte count>:<bytes>,`), in column order: no two different entries share an encoding. The trace id
    /// (v7-trace-id) is appended as one more netstring only when non-empty: older entries hash as they did, and a
    /// netstring sequence of 8 never equals one of 7.
    public static func hash(of entry: AuditEntry, after previous: [UInt8]) -> [UInt8] {
        precondition(previous.count == 32, "prev_hash is a SHA-256")
        // One buffer, appended in place: every charge's audit entry is hashed on the wallet writer (issue 14).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(
            previous.count + 64 + entry.actor.utf8.count + entry.action.utf8.count + entry.subject.utf8.count
                + entry.reason.utf8.count + entry.detail.utf8.count + entry.traceID.utf8.count)
        bytes += previous
        func appendNetstring(_ field: String) {
            let utf8 = field.utf8
            bytes += String(utf8.count).utf8
            bytes.append(UInt8(ascii: ":"))
            bytes += utf8
            bytes.append(UInt8(ascii: ","))
        }
        appendNetstring(String(entry.id))
        appendNetstring(String(entry.atUnixMs))
        for field in [entry.actor, entry.action, entry.subject, entry.reason, entry.detail] { appendNetstring(field) }
        if !entry.traceID.isEmpty { appendNetstring(entry.traceID) }
        return sha256(bytes)
    }

    static func sha256(_ bytes: [UInt8]) -> [UInt8] { Digest.sha256(bytes) }

    public static func hex(_ bytes: [UInt8]) -> String { Digest.hex(bytes) }
}

/// The result of walking the audit chain.
public struct AuditVerification: Sendable, Hashable {
    /// Entries checked (up to and including the first broken one).
    public var entriesChecked: Int64
    /// The last entry's hash when the chain holds (publish it to anchor the chain).
    public var headHash: [UInt8]
    /// The first broken entry's id and what is wrong with it; nil when the whole chain holds.
    public var firstBroken: (id: Int64, why: String)?

    public var passed: Bool { firstBroken == nil }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.entriesChecked == rhs.entriesChecked && lhs.headHash == rhs.headHash
            && lhs.firstBroken?.id == rhs.firstBroken?.id && lhs.firstBroken?.why == rhs.firstBroken?.why
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(entriesChecked)
        hasher.combine(firstBroken?.id)
    }
}

extension WalletStore {
    /// Walks the audit chain in id order in one read transaction (the writer is not blocked) and names the first
    /// broken entry: a gap in the ids (deleted entry), a `prev_hash` that is not the previous entry's hash
    /// (inserted, deleted or reordered entry), or a `hash` that does not match its content (edited entry); and
    /// the newest entries missing (the last id is below SQLite's AUTOINCREMENT counter).
    public func verifyAudit() async throws(WalletError) -> AuditVerification {
        try await read { db in try Self.verifyAudit(db) }
    }

    static func verifyAudit(_ db: Database) throws -> AuditVerification {
        var previous = AuditChain.genesisHash
        var expectedID: Int64 = 1
        var checked: Int64 = 0
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT id, at_unix_ms, actor, action, subject, reason, detail, prev_hash, hash, trace_id FROM audit
                ORDER BY id
                """)
        while let row = try rows.next() {
            let entry = AuditEntry(storedRow: row)
            checked += 1
            func broken(_ why: String) -> AuditVerification {
                AuditVerification(entriesChecked: checked, headHash: [], firstBroken: (entry.id, why))
            }
            if entry.id != expectedID {
                return broken("expected entry \(expectedID) next, found \(entry.id): entries are missing")
            }
            if entry.prevHash != previous {
                return broken("prev_hash is not the hash of entry \(entry.id - 1): an entry was removed or inserted")
            }
            if entry.hash != AuditChain.hash(of: entry, after: previous) {
                return broken("hash does not match the entry's content: the entry was edited")
            }
            previous = entry.hash
            expectedID += 1
        }
        let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'audit'") ?? 0
        if sequence > checked {
            return AuditVerification(
                entriesChecked: checked, headHash: [],
                firstBroken: (checked + 1, "entries \(checked + 1)...\(sequence) were written and are missing"))
        }
        return AuditVerification(entriesChecked: checked, headHash: previous, firstBroken: nil)
    }

    /// The audit entries about `subject` (a charge id, link id, wallet id or bank code), oldest first, at most
    /// `limit`.
    public func auditEntries(subject: String, limit: Int = 1_000) async throws(WalletError) -> [AuditEntry] {
        precondition(limit > 0, "a listing is bounded")
        return try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, at_unix_ms, actor, action, subject, reason, detail, prev_hash, hash, trace_id FROM audit
                    WHERE subject = ? ORDER BY id LIMIT ?
                    """, arguments: [subject, limit]
            ).map(AuditEntry.init(storedRow:))
        }
    }
}
