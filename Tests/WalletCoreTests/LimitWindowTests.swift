import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

final class LimitWindowTests: XCTestCase {
    func testTokyoDayStartsAtFifteenHundredUTC() {
        // 2026-11-24 00:00 JST = 2026-11-23 15:00 UTC.
        let midnight = TokyoTime.unixMs(year: 2026, month: 11, day: 24)
        XCTAssertEqual(midnight, 1_795_446_000_000)
        XCTAssertEqual(TokyoTime.civilDate(fromDayIndex: TokyoTime.dayIndex(ofUnixMs: midnight)).day, 24)
        XCTAssertEqual(TokyoTime.civilDate(fromDayIndex: TokyoTime.dayIndex(ofUnixMs: midnight - 1)).day, 23)
    }

    func testCalendarAgreesWithKnownInstants() {
        // 2026-01-01T00:00:00+09:00 = 1767193200 s.
        XCTAssertEqual(TokyoTime.unixMs(year: 2026, month: 1, day: 1), 1_767_193_200_000)
        // 2024-02-29T12:00+09:00 (leap day) = 1709175600 s.
        XCTAssertEqual(TokyoTime.unixMs(year: 2024, month: 2, day: 29, hour: 12), 1_709_175_600_000)
        let leap = TokyoTime.civilDate(fromDayIndex: TokyoTime.dayIndex(ofUnixMs: 1_709_175_600_000))
        XCTAssertEqual([leap.year, leap.month, leap.day], [2024, 2, 29])
        // Before 1970 the floor division must still round down.
        let before = TokyoTime.civilDate(fromDayIndex: TokyoTime.dayIndex(ofUnixMs: -1))
        XCTAssertEqual([before.year, before.month, before.day], [1970, 1, 1], "1969-12-31T23:59:59.999Z is JST 1 Jan")
        XCTAssertEqual(TokyoTime.dayIndex(ofUnixMs: -TokyoTime.offsetMs - 1), -1)
    }

    func testMonthIndexChangesExactlyAtTokyoMonthStart() {
        let december = TokyoTime.unixMs(year: 2026, month: 12, day: 1)
        XCTAssertEqual(TokyoTime.monthIndex(ofUnixMs: december) - TokyoTime.monthIndex(ofUnixMs: december - 1), 1)
        let newYear = TokyoTime.unixMs(year: 2027, month: 1, day: 1)
        XCTAssertEqual(TokyoTime.monthIndex(ofUnixMs: newYear), 2027 * 12)
        XCTAssertEqual(TokyoTime.monthIndex(ofUnixMs: newYear - 1), 2026 * 12 + 11)
    }

    /// Charges at 23:59:59.999 and 00:00 Tokyo fall on different days of the same month.
    func testDailyTotalResetsAtTokyoMidnightButMonthlyTotalCarriesOver() async throws {
        let directory = TemporaryDirectory()
        let midnight = TokyoTime.unixMs(year: 2026, month: 11, day: 25)
        let clock = ManualClock(midnight - 60_000)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let seen = FactsLog()

        clock.now = midnight - 1
        _ = try await store.submitCharge(
            chargeRequest("before", link: link, yen: 30_000), bankCode: "9900", bodyDigest: digest("before"),
            decide: seen.approving, sign: testSign)
        clock.now = midnight
        _ = try await store.submitCharge(
            chargeRequest("after", link: link, yen: 20_000), bankCode: "9900", bodyDigest: digest("after"),
            decide: seen.approving, sign: testSign)
        _ = try await store.submitCharge(
            chargeRequest("after2", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("after2"),
            decide: seen.approving, sign: testSign)

        XCTAssertEqual(seen.facts.map(\.chargedTodayYen), [0, 0, 20_000])
        XCTAssertEqual(seen.facts.map(\.chargedThisMonthYen), [0, 30_000, 50_000])
        let yesterday = try await store.chargedTotals(walletID: "W0000001", atUnixMs: midnight - 1)
        XCTAssertEqual(yesterday, ChargedTotals(dayYen: 30_000, monthYen: 50_001))
    }

    func testMonthlyTotalResetsAtTokyoMonthStart() async throws {
        let directory = TemporaryDirectory()
        let monthStart = TokyoTime.unixMs(year: 2026, month: 12, day: 1)
        let clock = ManualClock(monthStart - 3_600_000)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let seen = FactsLog()

        clock.now = monthStart - 1
        _ = try await store.submitCharge(
            chargeRequest("nov", link: link, yen: 40_000), bankCode: "9900", bodyDigest: digest("nov"),
            decide: seen.approving, sign: testSign)
        // 2026-11-30 15:00 UTC is already December in Tokyo.
        clock.now = monthStart
        _ = try await store.submitCharge(
            chargeRequest("dec", link: link, yen: 10_000), bankCode: "9900", bodyDigest: digest("dec"),
            decide: seen.approving, sign: testSign)
        _ = try await store.submitCharge(
            chargeRequest("dec2", link: link, yen: 1), bankCode: "9900", bodyDigest: digest("dec2"),
            decide: seen.approving, sign: testSign)

        XCTAssertEqual(seen.facts.map(\.chargedThisMonthYen), [0, 0, 10_000])
        XCTAssertEqual(seen.facts.map(\.chargedTodayYen), [0, 0, 10_000])
    }

    func testHeldAndDeclinedChargesDoNotCountTowardTotalsUntilReleased() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let held = try await store.submitCharge(
            chargeRequest("held", link: link, yen: 45_000), bankCode: "9900", bodyDigest: digest("held"),
            decide: { _ in .hold(rule: "near-limit") }, sign: testSign)
        _ = try await store.submitCharge(
            chargeRequest("declined", link: link, yen: 9_000), bankCode: "9900", bodyDigest: digest("declined"),
            decide: { _ in .decline(.limitExceeded, rule: "x") }, sign: testSign)
        let before = try await store.chargedTotals(walletID: "W0000001", atUnixMs: clock.now)
        XCTAssertEqual(before, ChargedTotals(dayYen: 0, monthYen: 0))

        _ = try await store.releaseHold(chargeID: held.chargeID, audit: operatorAudit, sign: testSign)
        let after = try await store.chargedTotals(walletID: "W0000001", atUnixMs: clock.now)
        XCTAssertEqual(after, ChargedTotals(dayYen: 45_000, monthYen: 45_000))
    }

    func testRecentChargesOnLinkCountTenMinutesExcludingDeclines() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let seen = FactsLog()
        let start = clock.now
        _ = try await store.submitCharge(
            chargeRequest("c0", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("c0"),
            decide: seen.approving, sign: testSign)
        clock.now = start + 60_000
        _ = try await store.submitCharge(
            chargeRequest("c1", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("c1"),
            decide: { _ in .decline(.limitExceeded, rule: "x") }, sign: testSign)
        _ = try await store.submitCharge(
            chargeRequest("c2", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("c2"),
            decide: seen.approving, sign: testSign)
        clock.now = start + 10 * 60_000  // c0 is exactly 10 minutes old: still counted
        _ = try await store.submitCharge(
            chargeRequest("c3", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("c3"),
            decide: seen.approving, sign: testSign)
        clock.now = start + 10 * 60_000 + 1  // now c0 has left the window
        _ = try await store.submitCharge(
            chargeRequest("c4", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("c4"),
            decide: seen.approving, sign: testSign)

        XCTAssertEqual(seen.facts.map(\.chargesFromTokenToWalletInWindow), [0, 1, 2, 2])
    }

    /// Over every link the token had to the wallet (not to another wallet), saturating at the limit, across a
    /// relink; and the wallet's window the facts cache keeps to count them.
    func testRecentChargesSpanEveryLinkOfTheTokenToTheWallet() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.seedDemo()
        let seen = FactsLog()
        func charge(_ id: String, _ link: String) async throws {
            _ = try await store.submitCharge(
                chargeRequest(id, link: link, yen: 100), bankCode: "9900", bodyDigest: digest(id),
                decide: seen.approving, sign: testSign)
            clock.advance(ms: 1_000)
        }
        let first = try await store.linkForTest(walletID: "W0000001", token: "tok-merge", code: 1)
        try await charge("a1", first)
        try await charge("a2", first)
        _ = try await store.unlink(
            linkID: first, bankCode: "9900", requestID: "u1", bodyDigest: digest("u1"), reason: "customer request")
        let elsewhere = try await store.linkForTest(walletID: "W0000002", token: "tok-merge", code: 2)
        try await charge("e1", elsewhere)
        _ = try await store.unlink(
            linkID: elsewhere, bankCode: "9900", requestID: "u2", bodyDigest: digest("u2"), reason: "customer request")
        let second = try await store.linkForTest(walletID: "W0000001", token: "tok-merge", code: 3)
        try await charge("b1", second)
        try await charge("b2", second)

        // a1 a2 | e1 (another wallet: not counted) | b1 b2, one second apart.
        XCTAssertEqual(seen.facts.map(\.chargesFromTokenToWalletInWindow), [0, 1, 0, 2, 3])
        let link = try XCTUnwrap(seen.facts.last?.link)
        let (window, newestThree) = try await store.pool.read { db in
            (
                try Ledger.recentChargesToWallet(db, walletID: "W0000001", sinceUnixMs: 0, limit: 10),
                try Ledger.recentChargeCount(db, link: link, sinceUnixMs: 0, limit: 3)
            )
        }
        // The wallet's window as the facts cache keeps it: oldest first, each charge with its link's token.
        XCTAssertEqual(window.map(\.atUnixMs), [0, 1_000, 3_000, 4_000].map { noonTokyo + $0 })
        XCTAssertEqual(Set(window.map(\.token)), ["tok-merge"])
        XCTAssertEqual(newestThree, 3)
        let count = try await store.pool.read { db in
            try Ledger.recentChargeCount(db, link: link, sinceUnixMs: noonTokyo + 1_000, limit: 10)
        }
        XCTAssertEqual(count, 3)
    }

    func testFirstChargeAfterTheTokenMovedFromAnotherWalletWithinThirtyDaysIsFlagged() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.seedDemo()
        let first = try await store.linkForTest(walletID: "W0000001", token: "tok-shared", code: 1)
        clock.advance(ms: 86_400_000)
        _ = try await store.unlink(
            linkID: first, bankCode: "9900", requestID: "u", bodyDigest: digest("u"),
            reason: "customer request")
        clock.advance(ms: 29 * 86_400_000)
        let moved = try await store.linkForTest(walletID: "W0000002", token: "tok-shared", code: 2)
        let seen = FactsLog()

        _ = try await store.submitCharge(
            chargeRequest("m1", link: moved, yen: 100), bankCode: "9900", bodyDigest: digest("m1"),
            decide: seen.approving, sign: testSign)
        _ = try await store.submitCharge(
            chargeRequest("m2", link: moved, yen: 100), bankCode: "9900", bodyDigest: digest("m2"),
            decide: seen.approving, sign: testSign)

        XCTAssertEqual(seen.facts.map(\.firstChargeAfterTokenMovedWallets), [true, false])
    }

    func testTokenUnlinkedMoreThanThirtyDaysBeforeTheNewLinkIsNotFlagged() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.seedDemo()
        let first = try await store.linkForTest(walletID: "W0000001", token: "tok-old", code: 1)
        _ = try await store.unlink(
            linkID: first, bankCode: "9900", requestID: "u", bodyDigest: digest("u"),
            reason: "customer request")
        clock.advance(ms: 30 * 86_400_000 + 1)
        let moved = try await store.linkForTest(walletID: "W0000002", token: "tok-old", code: 2)
        let seen = FactsLog()

        _ = try await store.submitCharge(
            chargeRequest("m1", link: moved, yen: 100), bankCode: "9900", bodyDigest: digest("m1"),
            decide: seen.approving, sign: testSign)

        XCTAssertEqual(seen.facts.map(\.firstChargeAfterTokenMovedWallets), [false])
    }

    func testChargeFactsCarryBankLinkAndWallet() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let seen = FactsLog()
        _ = try await store.submitCharge(
            chargeRequest("f", link: link, yen: 100), bankCode: "9900", bodyDigest: digest("f"),
            decide: seen.approving, sign: testSign)
        let facts = try XCTUnwrap(seen.facts.first)
        XCTAssertEqual(facts.bank.code, "9900")
        XCTAssertEqual(facts.bank.profile, BankProfile())
        XCTAssertEqual(facts.link?.id, link)
        XCTAssertEqual(facts.link?.linkedAtUnixMs, noonTokyo)
        XCTAssertEqual(facts.wallet?.id, "W0000001")
        XCTAssertEqual(facts.wallet?.ekycNameKana, "ヤマダ ハナコ")
        XCTAssertEqual(facts.nowUnixMs, noonTokyo)
    }
}

/// Records the facts each decide call saw.
final class FactsLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: [ChargeAttemptFacts] = []

    var facts: [ChargeAttemptFacts] { lock.withLock { seen } }

    var approving: @Sendable (ChargeAttemptFacts) -> Verdict {
        { facts in
            self.lock.withLock { self.seen.append(facts) }
            return .approve
        }
    }
}
