import XCTest

final class GatewayRPCTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
