import ArgumentParser

/// The exit codes of SPEC §7 (sysexits.h numbering).
extension ExitCode {
    /// A check that failed (ledger verify, conformance, receipt verify).
    static let checkFailed = ExitCode(1)
    /// EX_USAGE: the command line was wrong.
    static let usage = ExitCode(64)
    /// EX_DATAERR: the input data was wrong.
    static let badInput = ExitCode(65)
    /// EX_UNAVAILABLE: the gateway could not be reached.
    static let unreachable = ExitCode(69)
}
