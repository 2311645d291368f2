import Foundation
import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

/// SPEC §4 (amended) as a property: over generated sequences of charge / hold / release / reject / unlink /
/// suspend (and time passing), with the real chains and a real store, at every step no wallet's credited total of
/// any Tokyo day exceeds the daily limit in force, credited plus reserved never does either, and every balance
/// (plus its reservations) stays within the cap. `ledger verify` holds at the end of every sequence.
final class HoldPropertyTests: XCTestCase {
    /// Deterministic generator (SplitMix64), so a failing seed replays.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let dailyLimitYen = BankProfile.maxDailyYenPerWalletDefault
    static let monthlyLimitYen = BankProfile.maxMonthlyYenPerWalletDefault

    func testNoSequenceCreditsADayOverItsLimitOrABalanceOverItsCap() async throws {
        for seed in UInt64(1)...4 {
            try await runSequence(seed: seed, steps: 160)
        }
    }

    private func runSequence(seed: UInt64, steps: Int) async throws {
        var random = SplitMix64(state: seed)
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.seedDemo()
        let wallets = ["P0000001", "P0000002", "P0000003"]
        for wallet in wallets {
            try await store.registerWallet(id: wallet, isTest: true, audit: operatorAudit)
            try await store.recordEkyc(
                walletID: wallet, status: .verified, method: .heICChipAndSelfie, nameKana: "テスト", audit: operatorAudit)
            try await store.markPhoneVerified(walletID: wallet, audit: operatorAudit)
        }
        var activeLinks: [String: [String]] = [:]  // wallet → active links (bank 9900)
        var openHolds: [String] = []
        var serial = 0
        let standard = ChargeChecks.standard

        for wallet in wallets {
            serial += 1
            activeLinks[wallet, default: []].append(
                try await Self.link(store, clock, wallet, name: "\(seed)-\(serial)"))
        }

        for step in 0..<steps {
            let wallet = wallets.randomElement(using: &random)!
            let what = "seed \(seed) step \(step)"
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<50:
                if activeLinks[wallet, default: []].isEmpty {
                    serial += 1
                    activeLinks[wallet, default: []].append(
                        try await Self.link(store, clock, wallet, name: "\(seed)-\(serial)"))
                }
                guard let linkID = activeLinks[wallet]?.randomElement(using: &random) else { break }
                let amount = [1_000, 20_000, 45_000, 49_000, 120_000, 250_000, 299_000].randomElement(using: &random)!
                serial += 1
                do {
                    let response = try await store.submitCharge(
                        chargeRequest("c-\(seed)-\(serial)", link: linkID, yen: Int64(amount)), bankCode: "9900",
                        bodyDigest: digest("c\(seed)-\(serial)"), decide: { standard.evaluate($0) }, sign: testSign)
                    if response.decision == .held { openHolds.append(response.chargeID) }
                } catch {
                    // SUSPENDED: rejected, judged nothing, wrote nothing. Anything else is a failure.
                    XCTAssertTrue(Self.isRejection(error), "\(what): \(error)")
                }
            case 50..<65:
                guard let hold = openHolds.randomElement(using: &random) else { break }
                do {
                    _ = try await store.releaseHold(chargeID: hold, audit: operatorAudit, sign: testSign)
                    openHolds.removeAll { $0 == hold }
                } catch {
                    // Refused by the chain at release time: still open. Anything else is a failure.
                    XCTAssertTrue(Self.isRefusedRelease(error), "\(what): \(error)")
                }
            case 65..<72:
                guard let hold = openHolds.randomElement(using: &random) else { break }
                _ = try await store.rejectHold(chargeID: hold, audit: operatorAudit, sign: testSign)
                openHolds.removeAll { $0 == hold }
            case 72..<80:
                guard let linkID = activeLinks[wallet]?.randomElement(using: &random) else { break }
                serial += 1
                let reason = Bool.random(using: &random) ? "  FRAUD: stolen" : "customer request"
                _ = try await store.unlink(
                    linkID: linkID, bankCode: "9900", requestID: "u-\(seed)-\(serial)",
                    bodyDigest: digest("u\(seed)-\(serial)"), reason: reason)
                activeLinks[wallet]?.removeAll { $0 == linkID }
            case 80..<85:
                try await store.unfreezeCharges(walletID: wallet, audit: operatorAudit)
            case 85..<90:
                let state: BankState = Bool.random(using: &random) ? .suspended : .enabled
                try await store.setBankState(code: "9900", operation: .charge, state: state, audit: operatorAudit)
            default:
                clock.advance(ms: Int64.random(in: 0...(8 * 3_600_000), using: &random))
            }
            try await assertWithinLimits(store, wallets: wallets, what)
        }
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "seed \(seed): \(verification.checks)")
    }

    private static func isRejection(_ error: any Error) -> Bool {
        if case WalletError.rejected = error { return true }
        return false
    }

    private static func isRefusedRelease(_ error: any Error) -> Bool {
        if case WalletError.failedPrecondition = error { return true }
        return false
    }

    private static func link(
        _ store: WalletStore, _ clock: ManualClock, _ wallet: String, name: String
    ) async throws -> String {
        let code = "code-\(name)"
        try await store.issueLinkCode(
            walletID: wallet, codeMAC: store.linkCodeMAC(of: code), expiresAtUnixMs: clock.now + 60_000,
            audit: operatorAudit)
        let request = LinkAccountRequest(
            header: RequestHeader(bankCode: "9900", requestID: "l-\(name)"), walletAccountID: wallet,
            linkCode: code, bankAccountToken: "tok-\(name)")
        let outcome = try await store.submitLink(
            request, bankCode: "9900", bodyDigest: digest("l\(name)"), linkCodeMAC: store.linkCodeMAC(of: code),
            decide: { _ in .approve })
        XCTAssertEqual(outcome.response.decision, .approved)
        return outcome.response.linkID
    }

    private func assertWithinLimits(_ store: WalletStore, wallets: [String], _ what: String) async throws {
        let worstDay = try await store.count(
            """
            SELECT coalesce(max(charged_yen), 0) FROM wallet_charged_total WHERE period = 'day'
            """)
        XCTAssertLessThanOrEqual(Int64(worstDay), Self.dailyLimitYen, "\(what): a Tokyo day credited over the limit")
        let worstMonth = try await store.count(
            """
            SELECT coalesce(max(charged_yen), 0) FROM wallet_charged_total WHERE period = 'month'
            """)
        XCTAssertLessThanOrEqual(Int64(worstMonth), Self.monthlyLimitYen, "\(what): a month credited over the limit")
        // Credited plus still-reserved holds of the same day never exceed the limit either.
        let committed = try await store.count(
            """
            SELECT coalesce(max(total), 0) FROM (
                SELECT account, day, sum(yen) AS total FROM (
                    SELECT credit_account_id AS account, tokyo_day AS day, amount_yen AS yen FROM transfer
                    UNION ALL
                    SELECT credit_account_id, tokyo_day, amount_yen FROM pending_transfer WHERE state = 'pending')
                GROUP BY account, day)
            """)
        XCTAssertLessThanOrEqual(Int64(committed), Self.dailyLimitYen, "\(what): credited + reserved over the limit")
        for wallet in wallets {
            guard let facts = try await store.wallet(id: wallet) else { return XCTFail("\(what): \(wallet) gone") }
            XCTAssertLessThanOrEqual(facts.balanceYen, facts.balanceCapYen, "\(what): \(wallet) over its cap")
            XCTAssertLessThanOrEqual(
                facts.balanceYen + facts.reservedYen, facts.balanceCapYen, "\(what): \(wallet) reserved over its cap")
        }
    }
}
