import GatewayPolicy
import GatewayWire
import XCTest

final class RequestChecksTests: XCTestCase {
    func testBankMaySpeakForItself() {
        XCTAssertNil(RequestChecks.bankService(caller: .bank(code: "9900"), headerBankCode: "9900"))
    }

    func testHeaderBankCodeOfAnotherBankIsPermissionDeniedNamingBoth() {
        let rejection = RequestChecks.bankService(caller: .bank(code: "9900"), headerBankCode: "0001")
        XCTAssertEqual(rejection?.code, .permissionDenied)
        XCTAssertEqual(
            rejection?.message, "header.bank_code 0001 is not the bank of the client certificate (9900)")
    }

    func testOperatorOnTheBankServiceIsPermissionDenied() {
        let rejection = RequestChecks.bankService(caller: .operatorName("demo"), headerBankCode: "9900")
        XCTAssertEqual(rejection?.code, .permissionDenied)
        XCTAssertTrue(rejection?.message.contains("operator demo") ?? false)
    }

    func testBankOnTheAdminServiceIsPermissionDenied() {
        XCTAssertEqual(RequestChecks.adminService(caller: .bank(code: "9900"))?.code, .permissionDenied)
        XCTAssertNil(RequestChecks.adminService(caller: .operatorName("demo")))
    }

    func testReplayWindowIncludesExactlyThreeHundredSecondsEitherWay() {
        let now = Fixture.now
        XCTAssertNil(RequestChecks.replayWindow(sentAtUnixMs: now, nowUnixMs: now))
        XCTAssertNil(RequestChecks.replayWindow(sentAtUnixMs: now - 300_000, nowUnixMs: now))
        XCTAssertNil(RequestChecks.replayWindow(sentAtUnixMs: now + 300_000, nowUnixMs: now))
    }

    func testRequestOneMillisecondOutsideTheReplayWindowIsFailedPreconditionNamingTheSkew() {
        let now = Fixture.now
        let stale = RequestChecks.replayWindow(sentAtUnixMs: now - 300_001, nowUnixMs: now)
        XCTAssertEqual(stale?.code, .failedPrecondition)
        XCTAssertEqual(
            stale?.message, "header.sent_at_unix_ms is 300001 ms behind the gateway's clock; the window is ±300 s")
        let early = RequestChecks.replayWindow(sentAtUnixMs: now + 300_001, nowUnixMs: now)
        XCTAssertEqual(early?.code, .failedPrecondition)
        XCTAssertEqual(
            early?.message, "header.sent_at_unix_ms is 300001 ms ahead of the gateway's clock; the window is ±300 s")
    }

    func testAbsurdSentAtTimesAreRejectedWithoutOverflow() {
        for sentAt: Int64 in [.min, .max, 0, -1] {
            XCTAssertEqual(
                RequestChecks.replayWindow(sentAtUnixMs: sentAt, nowUnixMs: Fixture.now)?.code, .failedPrecondition)
        }
    }

    func testBankRequestChecksCallerBeforeFreshness() {
        let header = RequestHeader(bankCode: "0001", requestID: "r", sentAtUnixMs: 0)
        XCTAssertEqual(
            RequestChecks.bankRequest(caller: .bank(code: "9900"), header: header, nowUnixMs: Fixture.now)?.code,
            .permissionDenied)
        XCTAssertEqual(
            RequestChecks.bankRequest(caller: .bank(code: "0001"), header: header, nowUnixMs: Fixture.now)?.code,
            .failedPrecondition)
        let fresh = RequestHeader(bankCode: "0001", requestID: "r", sentAtUnixMs: Fixture.now)
        XCTAssertNil(RequestChecks.bankRequest(caller: .bank(code: "0001"), header: fresh, nowUnixMs: Fixture.now))
    }
}
