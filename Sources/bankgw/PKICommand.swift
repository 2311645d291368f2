import ArgumentParser
import DevelopmentSupport
import Foundation
import GatewayCrypto
import GatewayTLS

/// `bankgw pki …`: the development PKI of SPEC §6.
struct PKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Development certificates for the gateway, the demo banks and the operator.",
        subcommands: [Init.self, RotateReceiptKey.self, BenchTLS.self]
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
            } catch {
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

    /// `bankgw pki rotate-receipt-key [--state-dir DIR]` (SPEC §5, §7): a fresh receipt key in `pki/receipt.key`;
    /// the old public key stays published as `pki/receipts/OLDID.pub.pem`, so receipts signed before still verify.
    /// The gateway signs with the new key from its next start.
    struct RotateReceiptKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-receipt-key",
            abstract: "Replace the receipt signing key; every earlier public key stays published under pki/receipts/.",
            discussion: "Restart the gateway to sign with the new key. Prints the old and the new key id.")

        @Option(help: "State directory holding pki/receipt.key.")
        var stateDir = ".bankgw-demo"

        func run() throws {
            let files = ReceiptKeyFiles(stateDirectory: stateDir)
            guard FileManager.default.fileExists(atPath: files.privateKey) else {
                FileHandle.standardError.write(Data("bankgw pki rotate-receipt-key: no \(files.privateKey)\n".utf8))
                throw ExitCode(65)
            }
            do {
                let (old, new) = try files.rotate()
                print("receipt key rotated: \(old) -> \(new)")
                print("published \(files.archived(old)) and \(files.archived(new))")
            } catch {
                FileHandle.standardError.write(Data("bankgw pki rotate-receipt-key: \(error)\n".utf8))
                throw ExitCode(65)
            }
        }
    }

    /// `bankgw pki bench-tls DIR`: the TLS handler's handshake rate and echo throughput on the certificates of
    /// DIR/pki (created if missing). Hidden: a tool for `scripts/bench-tls.sh`, not part of SPEC §7.
    struct BenchTLS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bench-tls", abstract: "Benchmark the TLS handler on loopback.", shouldDisplay: false)

        @Argument(help: "State directory holding pki/ (created with `pki init` when missing).")
        var directory: String

        @Option(help: "Seconds per measurement.")
        var seconds = 5

        @Option(help: "Concurrent handshake loops.")
        var concurrency = 4

        func validate() throws {
            guard seconds > 0, concurrency > 0 else {
                throw ValidationError("--seconds and --concurrency must be positive")
            }
        }

        func run() throws {
            try DevelopmentPKI.initialize(directory: directory)
            let report = try TLSBenchmark.run(
                stateDirectory: directory, duration: .seconds(seconds), concurrency: concurrency)
            print(report)
        }
    }
}
