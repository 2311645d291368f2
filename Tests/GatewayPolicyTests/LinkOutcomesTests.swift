import GatewayPolicy
import GatewayWire
import XCTest

final class LinkOutcomesTests: XCTestCase {
    private let declined = Verdict.decline(.nameMismatch, rule: "link.name_match")

    func testFifthDeclinedLinkInARowLocksTheWallet() {
        var streak = 0
        for attempt in 1...4 {
            let step = LinkDeclineStreak.next(current: streak, after: declined)
            XCTAssertEqual(step.streak, attempt)
            XCTAssertFalse(step.lockWallet, "attempt \(attempt)")
            streak = step.streak
        }
        XCTAssertEqual(LinkDeclineStreak.next(current: streak, after: declined), .init(streak: 5, lockWallet: true))
    }

    func testApprovedLinkResetsTheStreak() {
        XCTAssertEqual(LinkDeclineStreak.next(current: 4, after: .approve), .init(streak: 0, lockWallet: false))
        XCTAssertFalse(LinkDeclineStreak.next(current: 0, after: declined).lockWallet)
    }

    func testRejectedRequestsDoNotCountTowardTheStreak() {
        let rejected = Verdict.reject(Rejection(.failedPrecondition, "stale"))
        XCTAssertEqual(LinkDeclineStreak.next(current: 4, after: rejected), .init(streak: 4, lockWallet: false))
    }

    func testDeclinesAfterTheLockKeepTheWalletLocked() {
        let locked = Verdict.decline(.fraudSuspected, rule: "link.wallet_not_locked")
        XCTAssertEqual(LinkDeclineStreak.next(current: 5, after: locked), .init(streak: 6, lockWallet: true))
    }

    func testUnlinkReasonStartingWithFraudFreezesCharges() {
        for reason in [
            "FRAUD", "FRAUD: customer reported stolen card", "FRAUD_SUSPECTED", "fraud suspected",
            "Fraud", "  FRAUD", "\tfraud",
        ] {
            XCTAssertTrue(UnlinkReason.freezesCharges(reason), reason)
        }
    }

    func testOtherUnlinkReasonsDoNotFreezeCharges() {
        for reason in [
            "", "FRAU", "customer request", "not FRAUD", "suspected FRAUD", "F R A U D", "ＦＲＡＵＤ",
            "account closed",
        ] {
            XCTAssertFalse(UnlinkReason.freezesCharges(reason), reason)
        }
    }
}
