import GatewayPolicy
import GatewayWire
import XCTest

/// The SPEC §6 demo registry and wallets through the standard chains, as a bank would see them.
final class DemoScenarioTests: XCTestCase {
    private let link = LinkChecks.standard
    private let charge = ChargeChecks.standard

    func testBank9900LinksAndChargesW0000001() {
        XCTAssertEqual(link.evaluate(Fixture.link(bank: Fixture.bank9900, wallet: Fixture.w1)), .approve)
        XCTAssertEqual(charge.evaluate(Fixture.charge(bank: Fixture.bank9900, wallet: Fixture.w1)), .approve)
    }

    func testBank9900CannotLinkW0000003WithoutEkyc() {
        XCTAssertEqual(
            link.evaluate(Fixture.link(bank: Fixture.bank9900, wallet: Fixture.w3, holder: "ﾔﾏﾀﾞ ﾊﾅｺ")),
            .decline(.walletKYCIncomplete, rule: "link.wallet_ekyc_verified"))
    }

    func testBank9900CannotLinkW0000004WithUnverifiedPhone() {
        XCTAssertEqual(
            link.evaluate(Fixture.link(bank: Fixture.bank9900, wallet: Fixture.w4, holder: "ﾀﾅｶ ｼﾞﾛｳ")),
            .decline(.walletPhoneUnverified, rule: "link.wallet_phone_verified"))
    }

    func testBank0001InPilotServesOnlyW0000002() {
        XCTAssertEqual(
            link.evaluate(Fixture.link(bank: Fixture.bank0001, wallet: Fixture.w2, holder: "ｽｽﾞｷ ｲﾁﾛｳ")), .approve)
        XCTAssertEqual(
            link.evaluate(Fixture.link(bank: Fixture.bank0001, wallet: Fixture.w1)),
            .decline(.notInPilot, rule: "link.bank_enabled"))
        XCTAssertEqual(charge.evaluate(Fixture.charge(bank: Fixture.bank0001, wallet: Fixture.w2)), .approve)
        XCTAssertEqual(
            charge.evaluate(Fixture.charge(bank: Fixture.bank0001, wallet: Fixture.w1)),
            .decline(.notInPilot, rule: "charge.bank_enabled"))
    }

    func testBank0005InPendingServesOnlyTestWallets() {
        XCTAssertEqual(link.evaluate(Fixture.link(bank: Fixture.bank0005, wallet: Fixture.testWallet)), .approve)
        XCTAssertEqual(charge.evaluate(Fixture.charge(bank: Fixture.bank0005, wallet: Fixture.testWallet)), .approve)
        for wallet in [Fixture.w1, Fixture.w2, Fixture.w3, Fixture.w4] {
            let linkVerdict = link.evaluate(Fixture.link(bank: Fixture.bank0005, wallet: wallet))
            XCTAssertEqual(linkVerdict.rejection?.code, .permissionDenied, wallet.id)
            XCTAssertEqual(
                linkVerdict.rejection?.message, "bank 0005 is PENDING for link: only test wallets may be used")
            let chargeVerdict = charge.evaluate(Fixture.charge(bank: Fixture.bank0005, wallet: wallet))
            XCTAssertEqual(
                chargeVerdict.rejection?.message, "bank 0005 is PENDING for charge: only test wallets may be used")
        }
    }

    func testBank0009SuspendedIsRefusedEverything() {
        for wallet in [Fixture.w1, Fixture.w2, Fixture.testWallet] {
            XCTAssertEqual(
                link.evaluate(Fixture.link(bank: Fixture.bank0009, wallet: wallet)).rejection,
                Rejection(.permissionDenied, "bank 0009 is SUSPENDED for link"))
            XCTAssertEqual(
                charge.evaluate(Fixture.charge(bank: Fixture.bank0009, wallet: wallet)).rejection,
                Rejection(.permissionDenied, "bank 0009 is SUSPENDED for charge"))
        }
    }

    func testFirstDayOfALinkAtTheDemoBank() {
        // Linked an hour ago: 39,999 yen credits, 40,000 is held, 50,001 is declined.
        XCTAssertEqual(charge.evaluate(Fixture.charge(amountYen: 39_999, linkAgeMs: Fixture.hour)), .approve)
        XCTAssertEqual(
            charge.evaluate(Fixture.charge(amountYen: 40_000, linkAgeMs: Fixture.hour)),
            .hold(rule: "charge.hold.new_link_near_limit"))
        XCTAssertEqual(
            charge.evaluate(Fixture.charge(amountYen: 50_001, linkAgeMs: Fixture.hour)),
            .decline(.limitExceeded, rule: "charge.limit.new_link"))
    }
}
