import Foundation
import Logging
import XCTest

@testable import GatewayService

/// The default log lines stay what swift-log's `StreamLogHandler` writes (operators' greps and the interop tests
/// read them), now that `TextLogHandler` writes them (issue 14).
final class TextLogHandlerTests: XCTestCase {
    func testALineIsByteForByteTheStreamLogHandlersAfterItsTimestamp() {
        let captured = CapturedStream()
        var stock = StreamLogHandler(label: "bankgw.bank-service", stream: captured, metadataProvider: nil)
        let base: Logger.Metadata = ["request_id": "r-1", "bank": "0005", "trace_id": "abc", "method": "/x/Charge"]
        for (key, value) in base { stock[metadataKey: key] = value }
        let explicit: Logger.Metadata = ["decision": "APPROVED", "amount_yen": "100", "bank": "override"]
        let event = LogEvent(
            level: .info, message: "charge decided", metadata: explicit, source: "GatewayService",
            file: #fileID, function: #function, line: #line)
        stock.log(event: event)
        let ours = TextLogHandler.line(
            timestamp: "TIME", level: .info, label: "bankgw.bank-service",
            metadata: event.sortedMetadata(over: base, provider: nil), source: "GatewayService",
            message: "charge decided")
        let stockLine = captured.text.trimmingCharacters(in: .newlines)
        let stockAfterTime = stockLine.drop(while: { $0 != " " })
        XCTAssertEqual("TIME" + stockAfterTime, ours)
        XCTAssertEqual(
            ours,
            "TIME info bankgw.bank-service: amount_yen=100 bank=override decision=APPROVED method=/x/Charge "
                + "request_id=r-1 trace_id=abc [GatewayService] charge decided")
    }

    /// A line's pairs are swift-log's merged metadata, sorted: the logger's, the provider's, the call's, each
    /// overriding the one before, and an error's two keys.
    func testSortedMetadataIsTheMergedMetadataInKeyOrder() {
        struct Refused: Error {}
        let base: Logger.Metadata = ["bank": "0005", "request_id": "r-1", "shared": "base", "z": "1"]
        let provider = Logger.MetadataProvider { ["shared": "provider", "trace_id": "t", "a": "2"] }
        for explicit in [nil, [:], ["shared": "call", "decision": "APPROVED"]] as [Logger.Metadata?] {
            for error in [nil, Refused()] as [Refused?] {
                let event = LogEvent(
                    level: .warning, message: "m", error: error, metadata: explicit, source: "S", file: #fileID,
                    function: #function, line: #line)
                let merged = stockMerge(event, over: base, provider: provider)
                let pairs = event.sortedMetadata(over: base, provider: provider)
                XCTAssertEqual(pairs.map(\.key), merged.keys.sorted())
                XCTAssertEqual(pairs.map { "\($0.value)" }, merged.keys.sorted().map { "\(merged[$0]!)" })
                XCTAssertEqual(merged["shared"], explicit?["shared"] ?? "provider")
                XCTAssertEqual(pairs.contains { $0.key == "error.type" }, error != nil)
            }
        }
        XCTAssertEqual(
            TextLogHandler.line(
                timestamp: "T", level: .notice, label: "l",
                metadata: LogEvent(
                    level: .notice, message: "m", metadata: ["b": "2"], source: "S", file: "", function: "", line: 0
                ).sortedMetadata(over: ["a": "1", "b": "1"], provider: nil), source: "S", message: "m"),
            "T notice l: a=1 b=2 [S] m")
    }

    /// swift-log's handlers' merge, written out as the reference: dictionaries merged in order, then an error's keys.
    private func stockMerge(
        _ event: LogEvent, over base: Logger.Metadata, provider: Logger.MetadataProvider?
    ) -> Logger.Metadata {
        var merged = base
        if let provided = provider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        if let error = event.error {
            merged["error.message"] = "\(error)"
            merged["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        return merged
    }

    func testALineWithoutMetadataOrLabel() {
        XCTAssertEqual(
            TextLogHandler.line(timestamp: "T", level: .error, label: "", metadata: [], source: "S", message: "m"),
            "T error: [S] m")
    }

    func testTheTimestampIsTheLocalTimeStreamLogHandlerFormats() {
        let now = time(nil)
        var seconds = now
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [Int8](repeating: 0, count: 255)
        strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        XCTAssertEqual(LocalSecondClock.format(now), String(cString: buffer))
        let cached = LocalSecondClock.shared.now()
        XCTAssertTrue(cached.count == 24 && cached.dropFirst(4).first == "-", cached)
    }
}

private final class CapturedStream: TextOutputStream, @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    func write(_ string: String) { lock.withLock { buffer += string } }
    var text: String { lock.withLock { buffer } }
}
