import GatewayPolicy
import GatewayWire
import XCTest

final class RuleTests: XCTestCase {
    func testVerdictAlwaysNamesTheRuleThatDecided() {
        let hold = Rule<ChargeAttemptFacts>("charge.test.hold") { _ in .hold }
        let decline = Rule<ChargeAttemptFacts>("charge.test.decline") { _ in .decline(.fraudSuspected) }
        let facts = Fixture.charge()
        XCTAssertEqual(hold.evaluate(facts), .hold(rule: "charge.test.hold"))
        XCTAssertEqual(decline.evaluate(facts), .decline(.fraudSuspected, rule: "charge.test.decline"))
        XCTAssertEqual(ChargeChecks(rules: [decline, hold]).evaluate(facts).rule, "charge.test.decline")
        XCTAssertEqual(ChargeChecks(rules: [hold, decline]).evaluate(facts).rule, "charge.test.hold")
    }

    func testEmptyChainApproves() {
        XCTAssertEqual(ChargeChecks(rules: []).evaluate(Fixture.charge(bank: Fixture.bank0009)), .approve)
        XCTAssertEqual(LinkChecks(rules: []).evaluate(Fixture.link(wallet: nil)), .approve)
    }

    func testStandardRuleNamesAreUniqueAndScopedToTheirOperation() {
        let linkNames = LinkChecks.standard.rules.map(\.name)
        let chargeNames = ChargeChecks.standard.rules.map(\.name)
        XCTAssertEqual(Set(linkNames).count, linkNames.count)
        XCTAssertEqual(Set(chargeNames).count, chargeNames.count)
        XCTAssertTrue(linkNames.allSatisfy { $0.hasPrefix("link.") })
        XCTAssertTrue(chargeNames.allSatisfy { $0.hasPrefix("charge.") })
        let holds = chargeNames.filter { $0.hasPrefix("charge.hold.") }
        XCTAssertEqual(Array(chargeNames.suffix(holds.count)), holds, "monitoring holds run after every decline")
    }

    func testEveryStandardRuleCanBeLeftOutOnItsOwn() {
        for name in LinkChecks.standard.rules.map(\.name) {
            let broken = LinkChecks(rules: LinkChecks.standard.rules.filter { $0.name != name })
            XCTAssertEqual(broken.rules.count, LinkChecks.standard.rules.count - 1)
            XCTAssertEqual(broken.evaluate(Fixture.link()), .approve)
        }
    }
}
