import ArgumentParser
import Foundation
import GatewayPolicy
import GatewayTLS
import GatewayWire

/// `bankgw admin bank set-profile CODE [--field VALUE …] --reason TEXT`: changes the fields given and keeps the
/// others (it reads the bank's profile first). Every field is checked against `BankProfile.Bounds` here and again
/// by the gateway; a profile that breaks them is refused (exit 64) naming the field, before anything is sent.
extension AdminBankCommand {
    struct SetProfile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-profile",
            abstract: "Change a bank's limits, customer-auth rule, eKYC methods, SPKI pin or rate (others kept).",
            discussion: """
                Limits are in yen, each 1...1,000,000,000; the new-link window 0...30 days in ms; the rate \
                1...10,000,000 requests/s. A pin is the hex \
                SHA-256 of the bank certificate's SubjectPublicKeyInfo (--pin-certificate computes it from a PEM \
                file); a pinned bank presenting another key fails its next handshake.
                """)
        @OptionGroup var connection: AdminConnectionOptions
        @Argument(help: "The 4-digit bank code.") var code: String
        @Option(help: "Largest single charge, yen.") var maxChargeYen: Int64?
        @Option(help: "Per wallet per Asia/Tokyo day, yen.") var maxDailyYenPerWallet: Int64?
        @Option(help: "Per wallet per Asia/Tokyo month, yen.") var maxMonthlyYenPerWallet: Int64?
        @Option(help: "Largest charge while a link is new, yen.") var newLinkMaxChargeYen: Int64?
        @Option(help: "How long a link counts as new, milliseconds (0: never).") var newLinkCautionMs: Int64?
        @Option(help: "Whether every charge must carry multi-factor customer_auth (true/false).")
        var chargeRequiresCustomerAuth: Bool?
        @Option(help: "eKYC methods required for new links, comma-separated (HO, HE, TO, WA); 'none' clears.")
        var requiredEkycMethods: String?
        @Option(help: "Pin the bank's key: hex SHA-256 of its SubjectPublicKeyInfo (64 hex digits).")
        var pinSpkiSha256: String?
        @Option(help: "Pin the key of this PEM certificate.") var pinCertificate: String?
        @Flag(help: "Remove the bank's pin.") var clearPin = false
        @Option(help: "Token-bucket rate, requests per second.") var maxRequestsPerSecond: Int64?
        @OptionGroup var why: ReasonOption

        func validate() throws {
            guard code.count == 4, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw ValidationError("bank code must be 4 digits, got '\(code)'")
            }
            let pins = [pinSpkiSha256 != nil, pinCertificate != nil, clearPin].filter { $0 }.count
            guard pins <= 1 else {
                throw ValidationError("give at most one of --pin-spki-sha256, --pin-certificate, --clear-pin")
            }
            if let pinSpkiSha256, Self.hexBytes(pinSpkiSha256)?.count != BankProfile.Bounds.pinBytes {
                throw ValidationError("--pin-spki-sha256 must be 64 hex digits (a SHA-256)")
            }
            if let requiredEkycMethods { _ = try Self.methods(requiredEkycMethods) }
            // Ranges of the fields given (combinations are checked against the current profile in run()).
            let probe = try changed(BankProfile())
            let named = Set(givenFieldNames)
            if let problem = probe.validationProblems.first(where: { p in named.contains { p.hasPrefix($0 + " ") } }) {
                throw ValidationError(problem)
            }
        }

        func run() async throws {
            try await runAdmin(connection) { client in
                let bank = try await client.call(AdminMethods.getBank, GetBankRequest(bankCode: code))
                let current = BankProfile(wire: bank.profile ?? AdminBankProfile())
                let profile = try changed(current)
                if let problem = profile.validationProblems.first {
                    printError("admin bank set-profile: \(problem)")
                    throw ExitCode.usage
                }
                var request = SetBankProfileRequest()
                request.bankCode = code
                request.profile = AdminBankProfile(profile: profile)
                request.reason = why.reason
                try await client.show(AdminMethods.setBankProfile, request, json: connection.json, rows: profileRows)
            }
        }

        private var givenFieldNames: [String] {
            [
                ("max_charge_yen", maxChargeYen != nil), ("max_daily_yen_per_wallet", maxDailyYenPerWallet != nil),
                ("max_monthly_yen_per_wallet", maxMonthlyYenPerWallet != nil),
                ("new_link_max_charge_yen", newLinkMaxChargeYen != nil),
                ("new_link_caution_ms", newLinkCautionMs != nil),
                ("max_requests_per_second", maxRequestsPerSecond != nil),
            ].filter(\.1).map(\.0)
        }

        /// `base` with the fields given on the command line.
        private func changed(_ base: BankProfile) throws -> BankProfile {
            var profile = base
            if let maxChargeYen { profile.maxChargeYen = maxChargeYen }
            if let maxDailyYenPerWallet { profile.maxDailyYenPerWallet = maxDailyYenPerWallet }
            if let maxMonthlyYenPerWallet { profile.maxMonthlyYenPerWallet = maxMonthlyYenPerWallet }
            if let newLinkMaxChargeYen { profile.newLinkMaxChargeYen = newLinkMaxChargeYen }
            if let newLinkCautionMs { profile.newLinkCautionMs = newLinkCautionMs }
            if let chargeRequiresCustomerAuth { profile.chargeRequiresCustomerAuth = chargeRequiresCustomerAuth }
            if let requiredEkycMethods { profile.requiredEkycMethods = try Self.methods(requiredEkycMethods) }
            if let maxRequestsPerSecond { profile.maxRequestsPerSecond = maxRequestsPerSecond }
            if let pinSpkiSha256 { profile.pinnedSPKISHA256 = Self.hexBytes(pinSpkiSha256) }
            if let pinCertificate { profile.pinnedSPKISHA256 = try Self.spkiSHA256(ofCertificate: pinCertificate) }
            if clearPin { profile.pinnedSPKISHA256 = nil }
            return profile
        }

        static func methods(_ text: String) throws -> Set<EkycMethod> {
            if text.lowercased() == "none" || text.isEmpty { return [] }
            var methods: Set<EkycMethod> = []
            for part in text.split(separator: ",") {
                let name = part.trimmingCharacters(in: .whitespaces)
                guard let method = EkycMethodArgument(argument: name) else {
                    throw ValidationError("--required-ekyc-methods: '\(name)' is not HO, HE, TO or WA")
                }
                methods.insert(method.wire)
            }
            return methods
        }

        static func hexBytes(_ text: String) -> [UInt8]? {
            let digits = Array(text.lowercased().utf8)
            guard digits.count % 2 == 0 else { return nil }
            var bytes: [UInt8] = []
            for index in stride(from: 0, to: digits.count, by: 2) {
                guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                    return nil
                }
                bytes.append(byte)
            }
            return bytes
        }

        static func spkiSHA256(ofCertificate path: String) throws -> [UInt8] {
            do {
                return try CertificateFingerprint.spkiSHA256(pemFile: path)
            } catch {
                throw ValidationError("--pin-certificate \(path): \(error)")
            }
        }
    }
}

/// A bank's profile as a FIELD/VALUE table.
func profileRows(_ bank: GatewayWire.AdminBank) -> [[String]] {
    let profile = bank.profile ?? AdminBankProfile()
    let pin = profile.pinnedSPKISHA256.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    return [
        ["FIELD", "VALUE"],
        ["bank", "\(bank.bankCode) \(bank.name)"],
        ["max_charge_yen", String(profile.maxChargeYen)],
        ["max_daily_yen_per_wallet", String(profile.maxDailyYenPerWallet)],
        ["max_monthly_yen_per_wallet", String(profile.maxMonthlyYenPerWallet)],
        ["new_link_max_charge_yen", String(profile.newLinkMaxChargeYen)],
        ["new_link_caution_ms", String(profile.newLinkCautionMs)],
        ["charge_requires_customer_auth", profile.chargeRequiresCustomerAuth ? "true" : "false"],
        [
            "required_ekyc_methods",
            profile.requiredEkycMethods.isEmpty ? "-" : profile.requiredEkycMethods.map(\.name).joined(separator: ","),
        ],
        ["pinned_spki_sha256", pin.isEmpty ? "-" : pin],
        ["max_requests_per_second", String(profile.maxRequestsPerSecond)],
    ]
}

extension BankProfile {
    /// The wire profile as the gateway stores it (the Admin service returns every field filled).
    init(wire: AdminBankProfile) {
        self.init(
            maxChargeYen: wire.maxChargeYen, maxDailyYenPerWallet: wire.maxDailyYenPerWallet,
            maxMonthlyYenPerWallet: wire.maxMonthlyYenPerWallet, newLinkMaxChargeYen: wire.newLinkMaxChargeYen,
            newLinkCautionMs: wire.newLinkCautionMs, chargeRequiresCustomerAuth: wire.chargeRequiresCustomerAuth,
            requiredEkycMethods: Set(wire.requiredEkycMethods),
            pinnedSPKISHA256: wire.pinnedSPKISHA256.isEmpty ? nil : wire.pinnedSPKISHA256,
            maxRequestsPerSecond: wire.maxRequestsPerSecond)
    }
}

extension AdminBankProfile {
    init(profile: BankProfile) {
        self.init()
        maxChargeYen = profile.maxChargeYen
        maxDailyYenPerWallet = profile.maxDailyYenPerWallet
        maxMonthlyYenPerWallet = profile.maxMonthlyYenPerWallet
        newLinkMaxChargeYen = profile.newLinkMaxChargeYen
        newLinkCautionMs = profile.newLinkCautionMs
        chargeRequiresCustomerAuth = profile.chargeRequiresCustomerAuth
        requiredEkycMethods = profile.requiredEkycMethods.sorted { $0.rawValue < $1.rawValue }
        pinnedSPKISHA256 = profile.pinnedSPKISHA256 ?? []
        maxRequestsPerSecond = profile.maxRequestsPerSecond
    }
}
