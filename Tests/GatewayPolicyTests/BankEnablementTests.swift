import GatewayPolicy
import GatewayWire
import XCTest

final class BankEnablementTests: XCTestCase {
    private let now = Fixture.now
    private let day = Fixture.day

    private func change(
        to state: BankState, reason: String = "conformance passed, ticket OPS-12", passedAt: Int64?,
        operation: GatewayWire.Operation = .link
    ) -> Rejection? {
        BankEnablement.checkChange(
            bankCode: "0005", operation: operation, to: state, reason: reason,
            lastPassingConformanceAtUnixMs: passedAt, nowUnixMs: now)
    }

    func testSuspendingAndPendingAreAlwaysAllowed() {
        for state in [BankState.suspended, .pending] {
            XCTAssertNil(change(to: state, passedAt: nil), "\(state)")
            XCTAssertNil(change(to: state, passedAt: now - 1_000 * day), "\(state)")
        }
    }

    func testPilotOrEnabledNeedsAPassingConformanceRunWithinNinetyDays() {
        for state in [BankState.pilot, .enabled] {
            XCTAssertNil(change(to: state, passedAt: now - day), "\(state)")
            XCTAssertNil(change(to: state, passedAt: now - 90 * day), "\(state)")
            XCTAssertEqual(change(to: state, passedAt: now - 90 * day - 1)?.code, .failedPrecondition, "\(state)")
        }
    }

    func testRejectionSaysThatARunIsNeededAndWhenTheLastWas() {
        let passedAt = TokyoTime.startOfDayUnixMs(year: 2026, month: 5, day: 1) + 10 * Fixture.hour
        let rejection = change(to: .enabled, passedAt: passedAt, operation: .charge)
        XCTAssertEqual(rejection?.code, .failedPrecondition)
        XCTAssertEqual(
            rejection?.message,
            "bank 0005 charge → ENABLED needs a passing conformance run within the last 90 days; "
                + "the last was recorded 2026-05-01T10:00:00+09:00 (207 days ago)")
    }

    func testRejectionSaysWhenNoRunWasEverRecorded() {
        let rejection = change(to: .pilot, passedAt: nil)
        XCTAssertEqual(rejection?.code, .failedPrecondition)
        XCTAssertTrue(rejection?.message.hasSuffix("none is recorded") ?? false, "\(String(describing: rejection))")
    }

    func testEveryChangeNeedsAReason() {
        for reason in ["", " ", "\u{3000}\n"] {
            XCTAssertEqual(change(to: .suspended, reason: reason, passedAt: nil)?.code, .invalidArgument)
        }
        let tooLong = String(repeating: "x", count: BankEnablement.maxReasonCharacters + 1)
        XCTAssertEqual(change(to: .suspended, reason: tooLong, passedAt: nil)?.code, .invalidArgument)
    }

    func testUnspecifiedStateOrOperationIsInvalid() {
        XCTAssertEqual(change(to: .unspecified, passedAt: now)?.code, .invalidArgument)
        XCTAssertEqual(change(to: .enabled, passedAt: now, operation: .unspecified)?.code, .invalidArgument)
    }

    func testTokyoTimeFormatsInstantsOnTheTokyoTime() {
        XCTAssertEqual(TokyoTime.format(unixMs: 0), "1970-01-01T09:00:00+09:00")
        XCTAssertEqual(TokyoTime.format(unixMs: 1_806_505_199_999), "2027-03-31T23:59:59+09:00")
        XCTAssertEqual(TokyoTime.startOfDayUnixMs(year: 2028, month: 2, day: 29), 1_835_362_800_000)
        XCTAssertEqual(TokyoTime.format(unixMs: -1), "1970-01-01T08:59:59+09:00")
    }
}
