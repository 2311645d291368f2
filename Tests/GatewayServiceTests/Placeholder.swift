import XCTest

final class GatewayServiceTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
