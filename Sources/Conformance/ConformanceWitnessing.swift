import GatewayCrypto
import GatewayWire

/// What the suite and the gateway agree on so that a conformance run counts only when the gateway witnessed it
/// (SPEC §4): every request of a case carries `metadataName: RUN_ID CASE_NAME`, the gateway notes which cases it
/// saw per bank and run over that bank's certificate, and the recorded report is signed with the bank's key.
public enum ConformanceWitnessing {
    /// The request metadata naming the run and the case.
    public static let metadataName = "bankgw-conformance-case"

    /// Every case of the suite, in order (ConformanceSuiteTests checks this against the cases that ran).
    public static let caseNames: [String] = [
        "tls.mutual_h2", "health.tls_port", "health.probe_port", "link.approved", "charge.approved",
        "charge.get_charge", "unlink.approved", "receipt.verifies", "receipt.binds_request", "status.wrong_bank_code",
        "status.bank_calling_admin", "status.amount_not_positive", "status.stale_sent_at",
        "status.request_id_reused_other_body", "status.get_charge_unknown", "status.message_over_64KiB",
        "status.not_a_message", "status.unknown_method", "status.in_flight_twin", "link.decline.password_only",
        "link.decline.name_mismatch", "link.decline.ekyc_not_verified", "link.decline.phone_unverified",
        "link.decline.link_code_reused", "link.decline.token_linked_to_another_wallet",
        "link.decline.token_linked_again_to_the_same_wallet",
        "charge.decline.over_per_charge_limit", "charge.decline.new_link_caution",
        "charge.hold.80_percent_of_limit_on_new_link", "charge.hold.fourth_in_10_minutes",
        "charge.decline.link_not_active", "charge.idempotent_retry", "charge.restamped_retry",
        // SPEC §2 WatchEvents, §9 reversals (ConformanceSuite+Events.swift)
        "events.holds_released_and_rejected", "events.charge_reversed", "events.resume_from_sequence",
        "events.sequence_never_issued",
    ]

    /// Cases that send no request over the bank's certificate (the handshake itself; the plaintext probe port).
    public static let casesWithoutBankRequests: Set<String> = ["tls.mutual_h2", "health.probe_port"]

    /// The cases the gateway must have seen over the bank's certificate for a run to count.
    public static var witnessedCaseNames: Set<String> { Set(caseNames).subtracting(casesWithoutBankRequests) }

    /// A run id: 1...20 of [A-Za-z0-9_-] (the suite's default is the start time in ms).
    public static func isValidRunID(_ runID: Substring) -> Bool {
        (1...20).contains(runID.utf8.count)
            && runID.utf8.allSatisfy { b in
                (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 45 || b == 95
            }
    }
}

extension ConformanceRecord {
    /// What the bank signs (SPEC §4): this record encoded with the gateway's fields (operator, recorded_at) and
    /// the signature itself empty.
    public func bankSignedBytes() throws(WireError) -> [UInt8] {
        var unsigned = self
        unsigned.operatorName = ""
        unsigned.recordedAtUnixMs = 0
        unsigned.reportSignature = []
        return try unsigned.wireBytes()
    }
}
