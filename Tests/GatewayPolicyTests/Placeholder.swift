import XCTest

final class GatewayPolicyTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
