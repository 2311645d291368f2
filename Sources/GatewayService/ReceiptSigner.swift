@_exported import GatewayCrypto
import GatewayWire

// SPEC §5 receipts over ChargeResponse: ECDSA P-256 / SHA-256 (GatewayCrypto) over the protobuf-c encoding of the
// response with field 5 empty and field 10 naming the key, so a bank can prove what the wallet answered, to which
// request (fields 6-9) and for how much.

extension ReceiptSigner {
    /// `response` with `receipt_key_id` set to this key and `receipt_signature` over the rest.
    public func seal(_ response: ChargeResponse) -> ChargeResponse {
        var sealed = response
        sealed.receiptKeyID = keyID
        sealed.receiptSignature = []
        guard let message = try? sealed.receiptSignedBytes() else {
            assertionFailure("a ChargeResponse we built did not encode")
            return sealed
        }
        sealed.receiptSignature = sign(message)
        return sealed
    }
}

extension ReceiptVerifier {
    /// Whether `response.receiptSignature` is the signature of the published key `response.receiptKeyID` over the
    /// response with field 5 empty.
    public func isValid(_ response: ChargeResponse) -> Bool {
        guard !response.receiptSignature.isEmpty, let message = try? response.receiptSignedBytes() else { return false }
        return isValid(signature: response.receiptSignature, message: message, keyID: response.receiptKeyID)
    }
}
