import XCTest

final class GatewayTLSTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
