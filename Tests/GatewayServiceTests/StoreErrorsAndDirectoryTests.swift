import Foundation
import XCTest

@testable import GatewayService
@testable import WalletCore

/// Issue 16 item 11: what a bank learns when the store fails, and what an unregistered bank code costs.
final class StoreErrorsAndDirectoryTests: XCTestCase {
    func testStoreUnavailableIsAPlainMessageForBanks() {
        let status = WalletError.storeUnavailable(
            "wallet database /var/lib/bankgw/wallet.sqlite write failed: disk I/O error (SQLite 522)"
        ).status
        XCTAssertEqual(status.code, .unavailable)
        XCTAssertFalse(status.message.contains("SQLite"), status.message)
        XCTAssertFalse(status.message.contains("/var/lib"), status.message)
        let busy = WalletError.overloaded("the wallet writer has 16384 requests queued (the maximum)").status
        XCTAssertFalse(busy.message.contains("16384"), busy.message)
    }

    func testAnUnregisteredBankCodeCostsOneStoreReadNotOnePerRequest() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dir-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try WalletStore(stateDirectory: directory)
        try await store.seedDemo()
        let banks = BankDirectory()
        for _ in 0..<100 {
            let entry = try await banks.entry(for: "1234", store: store)
            XCTAssertNil(entry)
        }
        XCTAssertEqual(banks.storeReads.withLockedValue { $0 }, 1)
        let registered = try await banks.entry(for: "9900", store: store)
        XCTAssertNotNil(registered)
    }
}
