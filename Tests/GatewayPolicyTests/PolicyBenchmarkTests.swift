import GatewayPolicy
import GatewayWire
import XCTest

/// Prints the cost of the hot-path checks. Never asserted: timing belongs to benchmarks, not to pass/fail.
/// Run: `swift test -c release --filter GatewayPolicyTests.PolicyBenchmarkTests` (debug numbers are ~10× worse).
final class PolicyBenchmarkTests: XCTestCase {
    private func nanosPerCall(_ iterations: Int, _ body: () -> Int) -> Double {
        var sink = 0
        for _ in 0..<iterations / 10 { sink &+= body() }  // warm up: lazy statics, caches, page faults
        let start = ContinuousClock.now
        for _ in 0..<iterations { sink &+= body() }
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        let nanos = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        XCTAssertNotEqual(sink, Int.min)  // keeps the loop body alive
        return nanos / Double(iterations)
    }

    func testPrintNanosecondsPerEvaluation() {
        let checks = ChargeChecks.standard
        let approved = Fixture.charge()
        let held = Fixture.charge(amountYen: 45_000, linkAgeMs: Fixture.hour)
        let links = LinkChecks.standard
        let linkFacts = Fixture.link()
        let limiter = BankRateLimiter()
        let iterations = 200_000

        let chargeApprove = nanosPerCall(iterations) { checks.evaluate(approved) == .approve ? 1 : 0 }
        let chargeHold = nanosPerCall(iterations) { checks.evaluate(held) == .approve ? 1 : 0 }
        let linkApprove = nanosPerCall(iterations / 4) { links.evaluate(linkFacts) == .approve ? 1 : 0 }
        let kana = nanosPerCall(iterations / 4) { KanaName.matches("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダ ハナコ") ? 1 : 0 }
        let admit = nanosPerCall(iterations) {
            let rate = BankRateLimiter.maxRequestsPerSecondLimit  // never exhausted: measures the admit path
            return limiter.admit(bankCode: "9900", maxRequestsPerSecond: rate) == nil ? 1 : 0
        }
        let replay = nanosPerCall(iterations) {
            RequestChecks.bankRequest(
                caller: .bank(code: "9900"), header: approved.request.header,
                nowUnixMs: Fixture.now) == nil ? 1 : 0
        }
        print(
            """
            policy bench (ns per call, not asserted):
              charge chain, approve (all 13 rules)  \(Int(chargeApprove))
              charge chain, hold at rule 10         \(Int(chargeHold))
              link chain, approve (all 10 rules)    \(Int(linkApprove))
              kana name match                       \(Int(kana))
              rate limiter admit                    \(Int(admit))
              request checks (caller + replay)      \(Int(replay))
            """)
    }
}
