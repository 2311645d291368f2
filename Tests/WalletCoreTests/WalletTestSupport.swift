import Foundation
import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

/// A clock tests move by hand, to cross Tokyo midnights and month ends.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var nowUnixMs: Int64

    init(_ nowUnixMs: Int64) { self.nowUnixMs = nowUnixMs }

    var now: Int64 {
        get { lock.withLock { nowUnixMs } }
        set { lock.withLock { nowUnixMs = newValue } }
    }

    func advance(ms: Int64) { lock.withLock { nowUnixMs += ms } }

    var provider: @Sendable () -> Int64 { { self.now } }
}

/// A fresh state directory per test, removed afterwards.
final class TemporaryDirectory {
    let path: String

    init() {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("walletcore-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var databasePath: String { (path as NSString).appendingPathComponent(WalletStore.databaseFileName) }
}

let operatorAudit = AuditContext(actor: "operator/test", reason: "test")

/// 2026-11-24 12:00 Tokyo.
let noonTokyo = TokyoTime.unixMs(year: 2026, month: 11, day: 24, hour: 12)

func digest(_ text: String) -> [UInt8] {
    // Not SHA-256 (the caller computes that); any stable 32 bytes per body do for the store.
    var bytes = [UInt8](repeating: 0, count: 32)
    for (index, byte) in text.utf8.enumerated() { bytes[index % 32] = bytes[index % 32] &* 31 &+ byte }
    return bytes
}

func codeHash(_ seed: UInt8) -> [UInt8] { [UInt8](repeating: seed, count: 32) }

/// A seal whose signature depends on every signed field (1-4, 6-10), so a replay that changed anything would show.
let testSign: @Sendable (ChargeResponse) -> ChargeResponse = { response in
    precondition(response.receiptSignature.isEmpty, "sign sees the response with field 5 empty")
    var sealed = response
    sealed.receiptKeyID = "test-key"
    sealed.receiptSignature =
        Array(
            "sig:\(response.decision.rawValue):\(response.chargeID):\(response.declineReason.rawValue):".utf8)
        + withUnsafeBytes(of: response.processedAtUnixMs.bigEndian, Array.init)
        + Array(":\(response.requestID):\(response.bankCode):\(response.linkID):\(response.amountYen):test-key".utf8)
    return sealed
}

let approveAll: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in .approve }

func chargeRequest(_ requestID: String, link: String, yen: Int64, bank: String = "9900") -> ChargeRequest {
    ChargeRequest(
        header: RequestHeader(bankCode: bank, requestID: requestID, sentAtUnixMs: 0), linkID: link,
        amountYen: yen)
}

extension WalletStore {
    /// Issues a code for `walletID` and links `token` to it for `bank` (approve verdict); returns the link id.
    func linkForTest(
        walletID: String, bank: String = "9900", token: String, code: UInt8, requestID: String? = nil
    ) async throws -> String {
        try await issueLinkCode(
            walletID: walletID, codeMAC: codeHash(code), expiresAtUnixMs: clock() + 5 * 60_000,
            audit: operatorAudit)
        let request = LinkAccountRequest(
            header: RequestHeader(bankCode: bank, requestID: requestID ?? "link-\(walletID)-\(code)"),
            walletAccountID: walletID, linkCode: "code\(code)", bankAccountToken: token)
        let outcome = try await submitLink(
            request, bankCode: bank, bodyDigest: digest("link\(walletID)\(code)\(token)"), linkCodeMAC: codeHash(code),
            decide: { _ in .approve })
        XCTAssertEqual(outcome.response.decision, .approved)
        return outcome.response.linkID
    }

    func count(_ sql: String, _ arguments: StatementArguments = []) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: sql, arguments: arguments) ?? 0 }
    }
}

/// A seeded store (SPEC §6 demo state) with W0000001 linked at 9900, and its link id.
func makeLinkedStore(
    _ directory: TemporaryDirectory, clock: ManualClock, limits: WalletLimits = .init()
) async throws -> (WalletStore, String) {
    let store = try WalletStore(stateDirectory: directory.path, limits: limits, clock: clock.provider)
    try await store.seedDemo()
    let link = try await store.linkForTest(walletID: "W0000001", token: "tok-hanako", code: 1)
    return (store, link)
}

func XCTAssertThrowsWalletError<T>(
    _ expression: @autoclosure () async throws -> T, _ expected: WalletError, file: StaticString = #filePath,
    line: UInt = #line
) async {
    do {
        _ = try await expression()
        XCTFail("expected \(expected)", file: file, line: line)
    } catch let error as WalletError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("unexpected \(error)", file: file, line: line)
    }
}

/// The wallet core refused a verdict that breaks its invariants (`.invariantViolated`), writing nothing.
func XCTAssertThrowsInvariantViolation<T>(
    _ expression: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line
) async {
    var violated = false
    do {
        _ = try await expression()
    } catch let error as WalletError {
        if case .invariantViolated = error { violated = true }
    } catch {}
    XCTAssertTrue(violated, "expected an invariant violation", file: file, line: line)
}

/// Rows written straight into a database migrated only part of the way (an older bankgw's file): bank 9900 with its
/// settlement account, wallet W0000001 (verified, with its account and cap) and its active link `ln_1`, in the
/// columns every schema version since v1 has.
enum LegacyFixture {
    static func insertBankWalletLink(
        _ db: Database, settlementAccountID: Int64, walletAccountID: Int64, balanceCapYen: Int64
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO ledger_account(id, kind) VALUES (?, 'bank_settlement');
                INSERT INTO ledger_account(id, kind, balance_cap_yen) VALUES (?, 'wallet', ?);
                INSERT INTO bank(code, name, settlement_account_id, link_state, charge_state, max_charge_yen,
                    max_daily_yen_per_wallet, max_monthly_yen_per_wallet, new_link_max_charge_yen, new_link_caution_ms,
                    charge_requires_customer_auth, max_requests_per_second, created_at_unix_ms)
                VALUES ('9900', 'bank', ?, 3, 3, 300000, 500000, 2000000, 50000, 86400000, 0, 1000, 0);
                INSERT INTO wallet(id, ledger_account_id, is_test, ekyc_status, ekyc_method, ekyc_name_kana,
                    ekyc_verified_at_unix_ms, phone_verified, link_locked, consecutive_link_declines, charge_frozen,
                    created_at_unix_ms)
                VALUES ('W0000001', ?, 0, 3, 2, 'ヤマダ ハナコ', 1, 1, 0, 0, 0, 0);
                INSERT INTO link(id, bank_code, wallet_id, bank_account_token, active, linked_at_unix_ms)
                VALUES ('ln_1', '9900', 'W0000001', 'tok', 1, 0);
                """,
            arguments: [settlementAccountID, walletAccountID, balanceCapYen, settlementAccountID, walletAccountID])
    }
}
