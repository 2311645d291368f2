import GRDB
import GatewayPolicy
import GatewayWire
import XCTest

@testable import WalletCore

final class LinkTests: XCTestCase {
    private func linkRequest(_ id: String, wallet: String = "W0000001", token: String = "tok") -> LinkAccountRequest {
        LinkAccountRequest(
            header: RequestHeader(bankCode: "9900", requestID: id), walletAccountID: wallet,
            linkCode: "c", bankAccountToken: token)
    }

    func testApprovedLinkIsActiveAndUsesUpItsCode() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)

        let facts = try await store.link(id: link)
        XCTAssertEqual(
            facts,
            LinkFacts(
                id: link, bankCode: "9900", walletID: "W0000001", bankAccountToken: "tok-hanako",
                active: true, linkedAtUnixMs: noonTokyo))
        let reuse = try await store.submitLink(
            linkRequest("again", token: "tok-2"), bankCode: "9900", bodyDigest: digest("again"),
            linkCodeMAC: codeHash(1),
            decide: { facts in
                XCTAssertEqual(facts.linkCode?.used, true)
                return .approve
            })
        XCTAssertEqual(reuse.response.decision, .declined, "an approve on a used code is refused by the store")
        XCTAssertEqual(reuse.response.declineReason, .linkCodeInvalid)
    }

    func testApproveWithExpiredCodeOrCodeOfAnotherWalletIsDeclinedLinkCodeInvalid() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.seedDemo()
        try await store.issueLinkCode(
            walletID: "W0000002", codeMAC: codeHash(7),
            expiresAtUnixMs: clock.now + 600_000, audit: operatorAudit)
        let otherWallet = try await store.submitLink(
            linkRequest("l1"), bankCode: "9900", bodyDigest: digest("l1"), linkCodeMAC: codeHash(7),
            decide: { _ in .approve })
        clock.advance(ms: 600_000)
        let expired = try await store.submitLink(
            linkRequest("l2", wallet: "W0000002"), bankCode: "9900", bodyDigest: digest("l2"),
            linkCodeMAC: codeHash(7), decide: { _ in .approve })

        XCTAssertEqual(otherWallet.response.declineReason, .linkCodeInvalid)
        XCTAssertEqual(expired.response.declineReason, .linkCodeInvalid)
        let links = try await store.count("SELECT count(*) FROM link")
        XCTAssertEqual(links, 0)
    }

    func testLinkCodeLivesAtMostTenMinutes() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let store = try WalletStore(stateDirectory: directory.path, clock: clock.provider)
        try await store.seedDemo()
        await XCTAssertThrowsWalletError(
            try await store.issueLinkCode(
                walletID: "W0000001", codeMAC: codeHash(1),
                expiresAtUnixMs: clock.now + 600_001, audit: operatorAudit),
            .invalidArgument("a link code expires within 10 minutes of issue"))
    }

    func testFiveDeclinedLinkAttemptsInARowLockTheWalletAndReportItOnce() async throws {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path, clock: ManualClock(noonTokyo).provider)
        try await store.seedDemo()
        let decline: @Sendable (LinkAttemptFacts) -> Verdict = { _ in .decline(.nameMismatch, rule: "name") }

        var locks: [Bool] = []
        for n in 0..<6 {
            let outcome = try await store.submitLink(
                linkRequest("d\(n)"), bankCode: "9900", bodyDigest: digest("d\(n)"), linkCodeMAC: codeHash(9),
                decide: decline)
            XCTAssertEqual(outcome.response.declineReason, .nameMismatch)
            locks.append(outcome.walletLinkingJustLocked)
        }
        let replay = try await store.submitLink(
            linkRequest("d4"), bankCode: "9900", bodyDigest: digest("d4"), linkCodeMAC: codeHash(9), decide: decline)

        XCTAssertEqual(locks, [false, false, false, false, true, false])
        XCTAssertFalse(replay.walletLinkingJustLocked, "a replay is not a new attempt")
        let wallet = try await store.wallet(id: "W0000001")
        XCTAssertEqual(wallet?.linkLocked, true)
        let audits = try await store.count("SELECT count(*) FROM audit WHERE action = 'wallet.link_locked'")
        XCTAssertEqual(audits, 1)

        try await store.unlockLinking(walletID: "W0000001", audit: operatorAudit)
        let record = try await store.walletRecord(id: "W0000001")
        XCTAssertEqual(record?.facts.linkLocked, false)
        XCTAssertEqual(record?.consecutiveLinkDeclines, 0)
    }

    func testApprovedLinkResetsTheDeclineStreak() async throws {
        let directory = TemporaryDirectory()
        let store = try WalletStore(stateDirectory: directory.path, clock: ManualClock(noonTokyo).provider)
        try await store.seedDemo()
        for n in 0..<4 {
            _ = try await store.submitLink(
                linkRequest("d\(n)"), bankCode: "9900", bodyDigest: digest("d\(n)"), linkCodeMAC: codeHash(9),
                decide: { _ in .decline(.weakCustomerAuth, rule: "auth") })
        }
        _ = try await store.linkForTest(walletID: "W0000001", token: "tok", code: 1)
        let outcome = try await store.submitLink(
            linkRequest("d9"), bankCode: "9900", bodyDigest: digest("d9"), linkCodeMAC: codeHash(9),
            decide: { _ in .decline(.weakCustomerAuth, rule: "auth") })

        XCTAssertFalse(outcome.walletLinkingJustLocked)
        let record = try await store.walletRecord(id: "W0000001")
        XCTAssertEqual(record?.consecutiveLinkDeclines, 1)
    }

    func testTokenActivelyLinkedToAnotherWalletIsAFactAndApproveIsDeclinedAccountLinkLimit() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, _) = try await makeLinkedStore(directory, clock: clock)
        try await store.issueLinkCode(
            walletID: "W0000002", codeMAC: codeHash(2),
            expiresAtUnixMs: clock.now + 60_000, audit: operatorAudit)
        let outcome = try await store.submitLink(
            linkRequest("steal", wallet: "W0000002", token: "tok-hanako"), bankCode: "9900",
            bodyDigest: digest("steal"), linkCodeMAC: codeHash(2),
            decide: { facts in
                XCTAssertTrue(facts.tokenActivelyLinked)
                return .approve
            })
        XCTAssertEqual(outcome.response.declineReason, .accountLinkLimit)
    }

    func testLinkRequestIDReplaysAndDifferentBodyIsDuplicate() async throws {
        let directory = TemporaryDirectory()
        let clock = ManualClock(noonTokyo)
        let (store, link) = try await makeLinkedStore(directory, clock: clock)
        let replay = try await store.submitLink(
            linkRequest("link-W0000001-1", token: "tok-hanako"), bankCode: "9900",
            bodyDigest: digest("linkW00000011tok-hanako"), linkCodeMAC: codeHash(1), decide: { _ in .approve })
        XCTAssertEqual(replay.response, LinkAccountResponse(decision: .approved, linkID: link))
        await XCTAssertThrowsWalletError(
            try await store.submitLink(
                linkRequest("link-W0000001-1", token: "other"), bankCode: "9900", bodyDigest: digest("other"),
                linkCodeMAC: codeHash(1), decide: { _ in .approve }),
            .duplicateRequestDifferentBody(bankCode: "9900", requestID: "link-W0000001-1"))
    }

    func testUnlinkWithFraudReasonFreezesChargesAndIsIdempotent() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))

        let first = try await store.unlink(
            linkID: link, bankCode: "9900", requestID: "u1", bodyDigest: digest("u1"),
            reason: "FRAUD: account takeover")
        let replay = try await store.unlink(
            linkID: link, bankCode: "9900", requestID: "u1", bodyDigest: digest("u1"),
            reason: "FRAUD: account takeover")
        // SPEC §3 (amended): a new Unlink of a link that is no longer active is NOT_FOUND.
        await XCTAssertThrowsWalletError(
            try await store.unlink(
                linkID: link, bankCode: "9900", requestID: "u2", bodyDigest: digest("u2"),
                reason: "customer request"),
            .notFound("link \(link)"))

        XCTAssertEqual(first.response, UnlinkResponse(unlinked: true))
        XCTAssertTrue(first.walletChargesJustFrozen)
        XCTAssertEqual(replay.response, first.response)
        XCTAssertFalse(replay.walletChargesJustFrozen, "a replay raises no second alert")
        let wallet = try await store.wallet(id: "W0000001")
        XCTAssertEqual(wallet?.chargeFrozen, true)
        let linkFacts = try await store.link(id: link)
        XCTAssertEqual(linkFacts?.active, false)
        try await store.unfreezeCharges(walletID: "W0000001", audit: operatorAudit)
        let unfrozen = try await store.wallet(id: "W0000001")
        XCTAssertEqual(unfrozen?.chargeFrozen, false)
    }

    func testUnlinkWithoutFraudReasonDoesNotFreeze() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        _ = try await store.unlink(
            linkID: link, bankCode: "9900", requestID: "u1", bodyDigest: digest("u1"),
            reason: "customer closed the account")
        let wallet = try await store.wallet(id: "W0000001")
        XCTAssertEqual(wallet?.chargeFrozen, false)
    }

    func testUnlinkOfAnotherBanksLinkIsNotFound() async throws {
        let directory = TemporaryDirectory()
        let (store, link) = try await makeLinkedStore(directory, clock: ManualClock(noonTokyo))
        await XCTAssertThrowsWalletError(
            try await store.unlink(
                linkID: link, bankCode: "0001", requestID: "u1", bodyDigest: digest("u1"),
                reason: "FRAUD"),
            .notFound("link \(link)"))
        let facts = try await store.link(id: link)
        XCTAssertEqual(facts?.active, true)
        let wallet = try await store.wallet(id: "W0000001")
        XCTAssertEqual(wallet?.chargeFrozen, false)
    }
}
