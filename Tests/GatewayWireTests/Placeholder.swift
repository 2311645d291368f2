import XCTest

final class GatewayWireTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
