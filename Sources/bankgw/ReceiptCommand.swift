import ArgumentParser
import Foundation
import GatewayService
import GatewayWire

/// `bankgw receipt …`: what a bank does with a receipt (SPEC §5).
struct ReceiptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Check the gateway's signed receipts.",
        subcommands: [ReceiptVerify.self]
    )
}

/// `bankgw receipt verify --key FILE`: one binary ChargeResponse on stdin; prints `valid` (exit 0) or `invalid`
/// (exit 1). Bytes that are not a ChargeResponse: a message on stderr, exit 65.
struct ReceiptVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a ChargeResponse's receipt_signature (binary protobuf on stdin).",
        discussion: """
            The signature is ECDSA P-256 / SHA-256 over the response encoded with field 5 empty (SPEC §5). \
            Prints valid (exit 0) or invalid (exit 1); input that is not a ChargeResponse exits 65.
            """
    )

    @Option(help: "The gateway's receipt public key (PEM), e.g. DIR/pki/receipt.pub.pem.")
    var key: String

    func run() async throws {
        let verifier: ReceiptVerifier
        do {
            verifier = try ReceiptVerifier(publicKeyPath: key)
        } catch {
            printError("receipt verify: \(error)")
            throw ExitCode.badInput
        }
        let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        let response: ChargeResponse
        do {
            response = try ChargeResponse(wireBytes: input)
        } catch {
            printError("receipt verify: not a bankgw.v1.ChargeResponse: \(error)")
            throw ExitCode.badInput
        }
        if verifier.isValid(response) {
            print("valid")
        } else {
            print("invalid")
            throw ExitCode.checkFailed
        }
    }
}
