import GatewayPolicy
import Synchronization
import XCTest

/// A clock the test moves by hand.
private final class ManualClock: Sendable {
    private let nanos = Mutex<Int64>(1_000_000_000)
    func now() -> Int64 { nanos.withLock { $0 } }
    func advance(nanos delta: Int64) { nanos.withLock { $0 += delta } }
}

final class BankRateLimiterTests: XCTestCase {
    private func admitted(_ limiter: BankRateLimiter, _ bank: String, rate: Int64, times: Int) -> Int {
        (0..<times).filter { _ in limiter.admit(bankCode: bank, maxRequestsPerSecond: rate) == nil }.count
    }

    func testBankMayBurstOneSecondOfRequestsThenIsExhausted() {
        let clock = ManualClock()
        let limiter = BankRateLimiter(nowNanos: { clock.now() })
        XCTAssertEqual(admitted(limiter, "9900", rate: 1_000, times: 1_000), 1_000)
        let rejection = limiter.admit(bankCode: "9900", maxRequestsPerSecond: 1_000)
        XCTAssertEqual(rejection?.code, .resourceExhausted)
        XCTAssertEqual(rejection?.message, "bank 9900 is over its rate limit of 1000 requests/s")
    }

    func testTokensRefillAtTheBanksRate() {
        let clock = ManualClock()
        let limiter = BankRateLimiter(nowNanos: { clock.now() })
        XCTAssertEqual(admitted(limiter, "9900", rate: 1_000, times: 1_001), 1_000)
        clock.advance(nanos: 999_999)  // just short of one token at 1,000/s
        XCTAssertNotNil(limiter.admit(bankCode: "9900", maxRequestsPerSecond: 1_000))
        clock.advance(nanos: 1)
        XCTAssertNil(limiter.admit(bankCode: "9900", maxRequestsPerSecond: 1_000))
        XCTAssertNotNil(limiter.admit(bankCode: "9900", maxRequestsPerSecond: 1_000))
        clock.advance(nanos: 250_000_000)  // a quarter second: 250 tokens
        XCTAssertEqual(admitted(limiter, "9900", rate: 1_000, times: 300), 250)
    }

    func testIdlingLongerThanTheBurstFillsTheBucketOnlyOnce() {
        let clock = ManualClock()
        let limiter = BankRateLimiter(nowNanos: { clock.now() })
        XCTAssertEqual(admitted(limiter, "9900", rate: 10, times: 20), 10)
        clock.advance(nanos: 3_600 * 1_000_000_000)
        XCTAssertEqual(admitted(limiter, "9900", rate: 10, times: 20), 10)
    }

    func testOneBanksBurstDoesNotSpendAnotherBanksTokens() {
        let clock = ManualClock()
        let limiter = BankRateLimiter(nowNanos: { clock.now() })
        XCTAssertEqual(admitted(limiter, "9900", rate: 100, times: 500), 100)
        XCTAssertEqual(admitted(limiter, "0001", rate: 100, times: 100), 100)
        XCTAssertNotNil(limiter.admit(bankCode: "9900", maxRequestsPerSecond: 100))
    }

    func testLoweredRateAppliesAtOnce() {
        let clock = ManualClock()
        let limiter = BankRateLimiter(nowNanos: { clock.now() })
        XCTAssertNil(limiter.admit(bankCode: "9900", maxRequestsPerSecond: 1_000))
        XCTAssertEqual(admitted(limiter, "9900", rate: 5, times: 10), 5)
    }

    func testClockSteppingBackEarnsNothing() {
        let clock = ManualClock()
        let limiter = BankRateLimiter(nowNanos: { clock.now() })
        XCTAssertEqual(admitted(limiter, "9900", rate: 10, times: 10), 10)
        clock.advance(nanos: -500_000_000)
        XCTAssertEqual(admitted(limiter, "9900", rate: 10, times: 10), 0)
        clock.advance(nanos: 500_000_000)
        XCTAssertEqual(admitted(limiter, "9900", rate: 10, times: 10), 0)
        clock.advance(nanos: 100_000_000)
        XCTAssertEqual(admitted(limiter, "9900", rate: 10, times: 10), 1)
    }

    func testShorterBurstAllowsFewerRequestsAtOnce() {
        let clock = ManualClock()
        let limiter = BankRateLimiter(burst: .milliseconds(100), nowNanos: { clock.now() })
        XCTAssertEqual(admitted(limiter, "9900", rate: 1_000, times: 1_000), 100)
    }

    func testMalformedBankCodeAndZeroRateAreRefused() {
        let limiter = BankRateLimiter()
        for code in ["", "990", "99000", "99a0", "٩٩٠٠"] {
            XCTAssertEqual(limiter.admit(bankCode: code, maxRequestsPerSecond: 1_000)?.code, .invalidArgument, code)
        }
        XCTAssertEqual(limiter.admit(bankCode: "9900", maxRequestsPerSecond: 0)?.code, .resourceExhausted)
    }

    func testConcurrentCallersGetExactlyTheBurst() async {
        let clock = ManualClock()
        let limiter = BankRateLimiter(nowNanos: { clock.now() })
        let admittedCount = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    (0..<1_000).filter { _ in
                        limiter.admit(bankCode: "9900", maxRequestsPerSecond: 2_000) == nil
                    }.count
                }
            }
            return await group.reduce(0, +)
        }
        XCTAssertEqual(admittedCount, 2_000)
    }

    func testRealClockRefills() async throws {
        let limiter = BankRateLimiter()
        XCTAssertEqual(admitted(limiter, "9900", rate: 100, times: 200), 100)
        try await Task.sleep(for: .milliseconds(50))  // 50 ms at 100/s: about 5 tokens
        let refilled = admitted(limiter, "9900", rate: 100, times: 100)
        XCTAssertGreaterThanOrEqual(refilled, 4)
        XCTAssertLessThanOrEqual(refilled, 100)
    }
}
