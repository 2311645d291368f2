/// The SPEC §2 field rules the codec checks on every decoded request, each failure naming its field.
///
/// Semantic checks (clock skew, limits, who may do what) are policy's; these are the syntax of the contract.
public enum FieldRules {
    /// Longest `request_id` (SPEC §2: 1...64 of `[A-Za-z0-9._-]`). Link and charge ids share the syntax.
    public static let maxIdentifierCharacters = 64
    /// Longest link code we accept; codes we issue are much shorter.
    public static let maxLinkCodeCharacters = 64
    /// Longest opaque bank account token.
    public static let maxBankAccountTokenCharacters = 128
    /// Longest kana name (Unicode scalars).
    public static let maxKanaNameCharacters = 128
    /// Longest free-text reason (Unlink, admin acts).
    public static let maxReasonCharacters = 512
    /// An all-digit token this short is an account number (7 digits, or 5+8 for Japan Post Bank), not a token.
    public static let maxDigitsOfRawAccountNumber = 14

    static func header(_ header: RequestHeader) throws(WireError) {
        try bankCode(header.bankCode, field: "header.bank_code")
        try identifier(header.requestID, field: "header.request_id")
        guard header.sentAtUnixMs > 0 else { throw WireError(field: "header.sent_at_unix_ms", rule: .missing) }
    }

    /// Exactly four ASCII digits (the Japanese bank code).
    public static func bankCode(_ value: String, field: String) throws(WireError) {
        guard !value.isEmpty else { throw WireError(field: field, rule: .missing) }
        let utf8 = value.utf8
        guard utf8.count == 4, utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw WireError(field: field, rule: .invalid("must be exactly 4 digits, got \"\(value)\""))
        }
    }

    /// 1...64 of `[A-Za-z0-9._-]`.
    public static func identifier(_ value: String, field: String) throws(WireError) {
        guard !value.isEmpty else { throw WireError(field: field, rule: .missing) }
        let utf8 = value.utf8
        guard utf8.count <= maxIdentifierCharacters else {
            throw WireError(
                field: field, rule: .invalid("must be at most \(maxIdentifierCharacters) characters, got \(utf8.count)")
            )
        }
        for byte in utf8 where !isIdentifierByte(byte) {
            throw WireError(field: field, rule: .invalid("may contain only A-Z a-z 0-9 . _ -"))
        }
    }

    /// `W` followed by seven digits, as the wallet numbers its accounts.
    public static func walletAccountID(_ value: String, field: String) throws(WireError) {
        guard !value.isEmpty else { throw WireError(field: field, rule: .missing) }
        let utf8 = Array(value.utf8)
        guard utf8.count == 8, utf8[0] == UInt8(ascii: "W"),
            utf8[1...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            throw WireError(field: field, rule: .invalid("must be W followed by 7 digits, got \"\(value)\""))
        }
    }

    static func linkCode(_ value: String) throws(WireError) {
        guard !value.isEmpty else { throw WireError(field: "link_code", rule: .missing) }
        let utf8 = value.utf8
        guard utf8.count <= maxLinkCodeCharacters, utf8.allSatisfy(isAlphanumericOrDash) else {
            throw WireError(field: "link_code", rule: .invalid("must be 1...\(maxLinkCodeCharacters) of A-Z a-z 0-9 -"))
        }
    }

    /// Opaque and printable; never a raw account number (SPEC §2).
    static func bankAccountToken(_ value: String) throws(WireError) {
        guard !value.isEmpty else { throw WireError(field: "bank_account_token", rule: .missing) }
        let utf8 = value.utf8
        guard utf8.count <= maxBankAccountTokenCharacters,
            utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else {
            throw WireError(
                field: "bank_account_token",
                rule: .invalid("must be 1...\(maxBankAccountTokenCharacters) printable ASCII characters")
            )
        }
        if utf8.count <= maxDigitsOfRawAccountNumber,
            utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            throw WireError(
                field: "bank_account_token",
                rule: .invalid("looks like a raw account number; send the bank's opaque token"))
        }
    }

    static func kanaName(_ value: String, field: String) throws(WireError) {
        guard !value.unicodeScalars.allSatisfy(isWhitespace) else {
            throw WireError(field: field, rule: .missing)
        }
        try freeText(value, field: field, maxCharacters: maxKanaNameCharacters)
    }

    static func customerAuth(_ auth: CustomerAuth) throws(WireError) {
        guard auth.authenticatedAtUnixMs >= 0 else {
            throw WireError(field: "customer_auth.authenticated_at_unix_ms", rule: .invalid("must not be negative"))
        }
        try freeText(auth.authReference, field: "customer_auth.auth_reference", maxCharacters: 256)
    }

    /// At most `maxCharacters` Unicode scalars, none of them a control character (tab allowed).
    public static func freeText(_ value: String, field: String, maxCharacters: Int) throws(WireError) {
        var count = 0
        for scalar in value.unicodeScalars {
            count += 1
            if isControl(scalar) {
                throw WireError(field: field, rule: .invalid("must not contain control characters"))
            }
        }
        guard count <= maxCharacters else {
            throw WireError(field: field, rule: .invalid("must be at most \(maxCharacters) characters"))
        }
    }

    // ASCII answers without the Unicode tables (a lookup there costs more than the rest of a decode).
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F }
        return scalar.properties.generalCategory == .control
    }

    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value < 0x80 { return scalar == " " || (scalar.value >= 0x09 && scalar.value <= 0x0D) }
        return scalar.properties.isWhitespace
    }

    private static func isIdentifierByte(_ byte: UInt8) -> Bool {
        isAlphanumericOrDash(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
    }

    private static func isAlphanumericOrDash(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "-"):
            return true
        default:
            return false
        }
    }
}

extension FieldRules {
    /// Every operator act that changes state says why (it goes to the audit log).
    static func reason(_ value: String) throws(WireError) {
        guard !value.unicodeScalars.allSatisfy({ $0.properties.isWhitespace }) else {
            throw WireError(field: "reason", rule: .missing)
        }
        try freeText(value, field: "reason", maxCharacters: maxReasonCharacters)
    }
}
