import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

final class OperatorTests: XCTestCase {
    func testSeedDemoCreatesTheSpecRegistryAndWalletsAndIsIdempotent() async throws {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path, clock: ManualClock(noonTokyo).provider)
        try await store.seedDemo()
        try await store.setBankState(code: "0005", operation: .link, state: .suspended, audit: operatorAudit)
        try await store.seedDemo()

        let banks = try await store.banks()
        XCTAssertEqual(banks.map(\.facts.code), ["0001", "0005", "0009", "9900"])
        XCTAssertEqual(banks.map(\.name), ["みずほ銀行", "三菱UFJ銀行", "三井住友銀行", "ゆうちょ銀行"])
        XCTAssertEqual(banks.map(\.facts.chargeState), [.pilot, .pending, .suspended, .enabled])
        XCTAssertEqual(
            banks.map(\.facts.linkState), [.pilot, .suspended, .suspended, .enabled],
            "a second seed leaves an operator's change alone")
        XCTAssertEqual(banks[0].facts.pilotWalletIDs, ["W0000002"])
        let w1 = try await store.wallet(id: "W0000001")
        let w3 = try await store.wallet(id: "W0000003")
        let w4 = try await store.wallet(id: "W0000004")
        XCTAssertEqual(w1?.ekycStatus, .verified)
        XCTAssertEqual(w1?.ekycMethod, .heICChipAndSelfie)
        XCTAssertEqual(w1?.phoneVerified, true)
        XCTAssertEqual(w1?.ekycNameKana, "ヤマダ ハナコ")
        XCTAssertEqual(w3?.ekycStatus, EkycStatus.none)
        XCTAssertEqual(w3?.phoneVerified, false)
        XCTAssertEqual(w4?.ekycNameKana, "タナカ ジロウ")
        XCTAssertEqual(w4?.phoneVerified, false)
        let wallets = try await store.count("SELECT count(*) FROM wallet")
        XCTAssertEqual(wallets, 4)
    }

    func testBankMovesToPilotOrEnabledOnlyWithAPassingConformanceRunWithinNinetyDays() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.registerBank(code: "0010", name: "テスト銀行", audit: operatorAudit)

        await XCTAssertThrowsWalletError(
            try await store.setBankState(code: "0010", operation: .charge, state: .enabled, audit: operatorAudit),
            .failedPrecondition(
                "bank 0010 charge → ENABLED needs a passing conformance run within the last 90 days; none is recorded"))
        try await store.recordConformance(
            code: "0010", passed: false, ranAtUnixMs: clock.now, detail: "3 failed",
            audit: operatorAudit)
        await XCTAssertThrowsWalletError(
            try await store.setBankState(code: "0010", operation: .charge, state: .pilot, audit: operatorAudit),
            .failedPrecondition(
                "bank 0010 charge → PILOT needs a passing conformance run within the last 90 days; none is recorded"))
        try await store.recordConformance(
            code: "0010", passed: true, ranAtUnixMs: clock.now, detail: "all passed",
            audit: operatorAudit)
        try await store.setBankState(code: "0010", operation: .charge, state: .pilot, audit: operatorAudit)
        clock.advance(ms: 90 * 86_400_000 + 1)
        await XCTAssertThrowsWalletError(
            try await store.setBankState(code: "0010", operation: .link, state: .enabled, audit: operatorAudit),
            .failedPrecondition(
                "bank 0010 link → ENABLED needs a passing conformance run within the last 90 days; the last was "
                    + "recorded 2026-11-24T12:00:00+09:00 (90 days ago)"))
        try await store.setBankState(code: "0010", operation: .charge, state: .suspended, audit: operatorAudit)

        let bank = try await store.bank(code: "0010")
        XCTAssertEqual(bank?.chargeState, .suspended)
        XCTAssertEqual(bank?.linkState, .pending)
        let audits = try await store.count(
            "SELECT count(*) FROM audit WHERE subject = '0010' AND actor = 'operator/test'")
        XCTAssertEqual(audits, 5, "register, two conformance runs, two state changes")
    }

    func testBankStateChangeIsSeenByTheNextCharge() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let states = StatesSeen()
        _ = try await store.submitCharge(
            chargeRequest("s1", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("s1"),
            decide: states.record, sign: testSign)
        try await store.setBankState(code: "9900", operation: .charge, state: .suspended, audit: operatorAudit)
        _ = try? await store.submitCharge(
            chargeRequest("s2", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("s2"),
            decide: states.record, sign: testSign)
        XCTAssertEqual(states.values, [.enabled, .suspended], "the writer's bank cache is invalidated by the change")
    }

    func testProfileAndPilotListChangesAreSeenByTheChecks() async throws {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path, clock: ManualClock(noonTokyo).provider)
        try await store.seedDemo()
        var profile = BankProfile(maxChargeYen: 100_000, requiredEkycMethods: [.heICChipAndSelfie, .waJPKI])
        profile.pinnedSPKISHA256 = [UInt8](repeating: 1, count: 32)
        try await store.setBankProfile(code: "0001", profile: profile, audit: operatorAudit)
        try await store.setPilotList(code: "0001", walletIDs: ["W0000001", "W0000004"], audit: operatorAudit)
        let bank = try await store.bank(code: "0001")
        XCTAssertEqual(bank?.profile, profile)
        XCTAssertEqual(bank?.pilotWalletIDs, ["W0000001", "W0000004"])
    }

    func testWalletRegistrationEkycAndPhoneAreRecordedAndAudited() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.registerWallet(id: "T0000001", isTest: true, audit: operatorAudit)
        await XCTAssertThrowsWalletError(
            try await store.registerWallet(id: "T0000001", isTest: true, audit: operatorAudit),
            .alreadyExists("wallet T0000001"))
        try await store.recordEkyc(
            walletID: "T0000001", status: .verified, method: .waJPKI, nameKana: "テスト タロウ",
            audit: operatorAudit)
        try await store.markPhoneVerified(walletID: "T0000001", audit: operatorAudit)
        await XCTAssertThrowsWalletError(
            try await store.markPhoneVerified(walletID: "nope", audit: operatorAudit), .notFound("wallet nope"))

        let wallet = try await store.wallet(id: "T0000001")
        XCTAssertEqual(
            wallet,
            WalletFacts(
                id: "T0000001", isTest: true, ekycStatus: .verified, ekycMethod: .waJPKI, ekycNameKana: "テスト タロウ",
                ekycVerifiedAtUnixMs: noonTokyo, phoneVerified: true))
        let audits = try await store.count("SELECT count(*) FROM audit WHERE subject = 'T0000001'")
        XCTAssertEqual(audits, 3)
    }

    func testReleasingAHoldCreditsTheWalletExactlyOnce() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let held = try await store.submitCharge(
            chargeRequest("h", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("h"),
            decide: { _ in .hold(rule: "near-limit") }, sign: testSign)

        let released = try await store.releaseHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign)
        let again = try await store.releaseHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign)

        XCTAssertEqual(released.state, .released)
        XCTAssertEqual(released.resolvedBy, "operator/test")
        XCTAssertEqual(again, released)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 45_000)
        let current = try await store.charge(bankCode: "9900", requestID: "h")
        XCTAssertEqual(current?.decision, .approved)
        XCTAssertEqual(current?.chargeID, held.chargeID)
        let retry = try await store.submitCharge(
            chargeRequest("h", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("h"),
            decide: approveAll, sign: testSign)
        XCTAssertEqual(retry, held, "a Charge retry still gets the first answer")
        await XCTAssertThrowsWalletError(
            try await store.rejectHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign),
            .failedPrecondition("hold \(held.chargeID) is already released"))
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }

    func testRejectingAHoldCreditsNothing() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let held = try await store.submitCharge(
            chargeRequest("h", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("h"),
            decide: { _ in .hold(rule: "near-limit") }, sign: testSign)

        let rejected = try await store.rejectHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign)

        XCTAssertEqual(rejected.state, .rejected)
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 0)
        let current = try await store.charge(bankCode: "9900", requestID: "h")
        XCTAssertEqual(current?.decision, .declined)
        let open = try await store.holds()
        XCTAssertEqual(open, [])
        let all = try await store.holds(state: nil)
        XCTAssertEqual(all.map(\.state), [.rejected])
        await XCTAssertThrowsWalletError(
            try await store.releaseHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign),
            .failedPrecondition("hold \(held.chargeID) is already rejected"))
    }

    func testAHoldReservesTheCapAndAReleaseTheLimitsNoLongerAllowFailsAndLeavesItOpen() async throws {
        // SPEC §4 (amended): the hold reserves its amount against the cap from the moment it is held, so the cap can
        // no longer fill up behind it; a release runs the chain again and is refused, naming the rule, when a limit
        // in force at release time no longer allows it.
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        let held = try await store.submitCharge(
            chargeRequest("h", link: link, yen: 50_000), bankCode: "9900", bodyDigest: digest("h"),
            decide: { _ in .hold(rule: "near-limit") }, sign: testSign)
        _ = try await store.submitCharge(
            chargeRequest("fill", link: link, yen: 950_000), bankCode: "9900", bodyDigest: digest("fill"),
            decide: approveAll, sign: testSign)
        let capOnly = ChargeChecks(rules: [ChargeRules.balanceCap])
        let over = try await store.submitCharge(
            chargeRequest("one-more", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("one-more"),
            decide: { capOnly.evaluate($0) }, sign: testSign)
        XCTAssertEqual(over.declineReason, .balanceCapExceeded, "the open hold is counted against the cap")

        try await store.setBankProfile(
            code: "9900", profile: BankProfile(maxDailyYenPerWallet: 960_000), audit: operatorAudit)
        await XCTAssertThrowsWalletError(
            try await store.releaseHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign),
            .failedPrecondition(
                "hold \(held.chargeID) cannot be released now and stays open: charge.limit.daily declines it "
                    + "(limitExceeded)"))
        let open = try await store.holds()
        XCTAssertEqual(open.map(\.chargeID), [held.chargeID])
        let balance = try await store.wallet(id: "W0000001")?.balanceYen
        XCTAssertEqual(balance, 950_000)
        let verification = try await store.verifyLedger()
        XCTAssertTrue(verification.passed, "\(verification.checks)")
    }
}

final class StatesSeen: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [BankState] = []
    var values: [BankState] { lock.withLock { seen } }
    var record: @Sendable (ChargeAttemptFacts) -> Verdict {
        { facts in
            self.lock.withLock { self.seen.append(facts.bank.chargeState) }
            return facts.bank.chargeState == .suspended ? .reject(Rejection(.permissionDenied, "suspended")) : .approve
        }
    }
}
