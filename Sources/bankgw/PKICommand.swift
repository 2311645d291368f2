import ArgumentParser
import Foundation
import GatewayTLS

/// `bankgw pki …`: the development PKI of SPEC §6.
struct PKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Development certificates for the gateway, the demo banks and the operator.",
        subcommands: [Init.self]
    )

    /// `bankgw pki init DIR`: partner CA, server, demo bank and operator certificates, receipt key under DIR/pki.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create DIR/pki (CA, server, demo banks, operator, receipt key); existing files are kept.")

        @Argument(help: "State directory; files go under DIR/pki/.")
        var directory: String

        @Flag(name: .shortAndLong, help: "Print nothing.")
        var quiet = false

        func run() throws {
            let created: [String]
            do {
                created = try DevelopmentPKI.initialize(directory: directory)
            } catch let error as TLSError {
                FileHandle.standardError.write(Data("bankgw pki init: \(error)\n".utf8))
                throw ExitCode(65)
            }
            guard !quiet else { return }
            if created.isEmpty {
                print("\(directory)/pki: complete, nothing created")
            } else {
                created.forEach { print("created \($0)") }
            }
        }
    }
}
