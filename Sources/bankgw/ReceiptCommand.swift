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

/// `bankgw receipt verify --key FILE… | --state-dir DIR`: one binary ChargeResponse on stdin; prints `valid`
/// (exit 0) or `invalid` (exit 1). Bytes that are not a ChargeResponse: a message on stderr, exit 65.
struct ReceiptVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a ChargeResponse's receipt_signature (binary protobuf on stdin).",
        discussion: """
            The signature is ECDSA P-256 / SHA-256 over the response encoded with field 5 empty (SPEC §5), by \
            the published key named in receipt_key_id (field 10): --key files, or every key a state directory \
            publishes (pki/receipt.pub.pem and pki/receipts/KEYID.pub.pem, so receipts from before a key \
            rotation still verify). Prints valid (exit 0) or invalid (exit 1); input that is not a \
            ChargeResponse exits 65. --print-fields also prints the fields the receipt binds.
            """
    )

    @Option(help: "A published receipt public key (PEM), e.g. DIR/pki/receipt.pub.pem; repeatable.")
    var key: [String] = []

    @Option(help: "A state directory whose published receipt keys to use (pki/receipt.pub.pem, pki/receipts/).")
    var stateDir: String?

    @Flag(help: "Print request_id, bank_code, link_id, amount_yen and receipt_key_id after the verdict.")
    var printFields = false

    func validate() throws {
        guard !key.isEmpty || stateDir != nil else { throw ValidationError("give --key FILE or --state-dir DIR") }
    }

    func run() async throws {
        var verifier: ReceiptVerifier
        do {
            verifier = try ReceiptVerifier(publicKeyPaths: key)
            if let stateDir {
                let published = try ReceiptVerifier(stateDirectory: stateDir)
                for (id, key) in published.keys { verifier.add(key, id: id) }
            }
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
            if printFields {
                print(
                    "request_id=\(response.requestID) bank_code=\(response.bankCode) link_id=\(response.linkID) "
                        + "amount_yen=\(response.amountYen) receipt_key_id=\(response.receiptKeyID)")
            }
        } else {
            print("invalid")
            throw ExitCode.checkFailed
        }
    }
}
