import ArgumentParser
import GatewayCrypto

/// `bankgw`: the gateway and its operator tools (SPEC §7).
///
/// Exit codes: 0 success, 64 usage error, 65 bad input data, 69 gateway unreachable, 1 a check that failed.
@main
struct BankGW: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bankgw",
        abstract: "BankGateway: partner banks link accounts to the e-money wallet and push charges into it.",
        subcommands: [
            // One line per subcommand; each lives in its own file.
            WireCommand.self,
            PKICommand.self,
            Bench.self,
            ServeCommand.self,
            ChargeBenchCommand.self,
            LedgerCommand.self,
            ConformanceCommand.self,
            AdminCommand.self,
            ReceiptCommand.self,
            AuditCommand.self,
        ]
    )

    /// OpenSSL is initialised first, without its exit-time cleanup (`OpenSSLLibrary`), then the command runs.
    static func main() async {
        OpenSSLLibrary.initialize()
        await main(nil)
    }
}
