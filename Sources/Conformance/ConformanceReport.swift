import GatewayCrypto

/// The outcome of one case, as printed in the table and written to JUnit.
public struct CaseResult: Sendable, Hashable {
    /// Stable name (`link.decline.name_mismatch`): what the recorded `failed_cases` and CONFORMANCE.md use.
    public var name: String
    /// The SPEC section the case checks (`§4 link`).
    public var specReference: String
    public var expected: String
    public var got: String
    public var passed: Bool
    public var durationMs: Int64
}

/// Everything one run found: the printed table, its SHA-256 (recorded with the result) and JUnit XML.
public struct ConformanceReport: Sendable {
    public var bankCode: String
    /// The bank certificate the suite presented: its SPIFFE identity and the SHA-256 of the PEM file.
    public var bankIdentity: String
    public var runID: String
    public var results: [CaseResult]

    public var passed: Bool { !results.isEmpty && results.allSatisfy(\.passed) }
    public var casesPassed: Int { results.filter(\.passed).count }
    public var casesFailed: Int { results.count - casesPassed }
    public var failedCases: [String] { results.filter { !$0.passed }.map(\.name) }

    /// The report as printed: one row per case, then a summary line. Its bytes are what `reportSHA256Hex` hashes.
    public var text: String {
        let header = ["case", "SPEC", "expected", "got", "result", "ms"]
        let rows = results.map { r in
            [r.name, r.specReference, r.expected, r.got, r.passed ? "PASS" : "FAIL", String(r.durationMs)]
        }
        var widths = header.map(\.count)
        for row in rows {
            for (column, cell) in row.enumerated() { widths[column] = max(widths[column], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { cell, width in cell + String(repeating: " ", count: width - cell.count) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }
        var out = "bankgw conformance: bank \(bankCode) (\(bankIdentity)), run \(runID)\n"
        out += line(header) + "\n"
        for row in rows { out += line(row) + "\n" }
        out += "\(passed ? "PASSED" : "FAILED"): \(casesPassed) passed, \(casesFailed) failed"
        if !failedCases.isEmpty { out += " (\(failedCases.joined(separator: ", ")))" }
        return out + "\n"
    }

    /// SHA-256 (lower-case hex) of `text`: what the gateway records, so an auditor can match a printed report.
    public var reportSHA256Hex: String { SHA256.hex(Array(text.utf8)) }

    /// JUnit XML: one `testcase` per case, a `failure` with expected and got for each failed one.
    public var junitXML: String {
        let seconds = Double(results.reduce(0) { $0 + $1.durationMs }) / 1000
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        out +=
            #"<testsuite name="bankgw conformance \#(bankCode)" tests="\#(results.count)" "#
            + #"failures="\#(casesFailed)" errors="0" time="\#(seconds)">"# + "\n"
        for r in results {
            let attributes =
                #"classname="conformance.\#(bankCode)" name="\#(xml(r.name))" "#
                + #"time="\#(Double(r.durationMs) / 1000)""#
            if r.passed {
                out += "  <testcase \(attributes)/>\n"
            } else {
                let message = "\(r.specReference): expected \(r.expected), got \(r.got)"
                out += "  <testcase \(attributes)>\n"
                out += #"    <failure message="\#(xml(message))">\#(xml(message))</failure>"# + "\n"
                out += "  </testcase>\n"
            }
        }
        return out + "</testsuite>\n"
    }

    private func xml(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // XML 1.0 has no representation for most control characters; a gateway message could carry them.
            case _ where scalar.value < 0x20 && scalar != "\n" && scalar != "\t": out += "?"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}

/// SHA-256 (GatewayCrypto), as hex.
enum SHA256 {
    static func hex(_ bytes: [UInt8]) -> String { Digest.hex(Digest.sha256(bytes)) }
}
