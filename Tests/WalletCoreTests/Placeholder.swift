import XCTest

final class WalletCoreTestsPlaceholder: XCTestCase {
    func testPlaceholder() {}
}
