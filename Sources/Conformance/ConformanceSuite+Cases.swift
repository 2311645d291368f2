import GatewayRPC
import GatewayWire
import NIOCore

/// The cases, in SPEC order: transport and health (§1, §2), each RPC's happy path (§2), the statuses a bank can
/// cause (§3), the declines and holds it can cause on test wallets (§4), idempotency (§3) and receipts (§5).
/// docs/CONFORMANCE.md lists the same names with what a bank must do to pass.
extension ConformanceSuite {
    var cases: [Case] {
        transportCases + happyPathCases + statusCases + linkDeclineCases + chargeCases + idempotencyCases
            + eventCases
    }

    // MARK: §1 transport, §2 health

    private var transportCases: [Case] {
        [
            Case(
                name: "tls.mutual_h2", specReference: "§1 TLS",
                expected: "handshake with the bank certificate, server verified against the CA, ALPN h2"
            ) { [self] in
                guard let handshake = bank.handshake else { return Observation(got: "no TLS handshake", passed: false) }
                return Observation(
                    got: "verified \(handshake.verifiedServerName), ALPN \(handshake.alpn ?? "none")",
                    passed: handshake.alpn == "h2")
            },
            Case(name: "health.tls_port", specReference: "§2 Health", expected: "SERVING") { [self] in
                let result = await bank.call(
                    HealthMethods.check.path, HealthCheckRequest(service: BankGatewayMethods.serviceName),
                    as: HealthCheckResponse.self
                )
                return Self.serving(result)
            },
            Case(name: "health.probe_port", specReference: "§1 probe port", expected: "SERVING over h2c") { [self] in
                let target = configuration.target
                let probe: GatewayConnection
                do {
                    probe = try await GatewayConnection.plaintext(
                        host: target.probeHost, port: target.probePort, timeoutMs: configuration.callTimeoutMs)
                } catch {
                    return Observation(got: "\(error)", passed: false)
                }
                let result = await probe.call(
                    HealthMethods.check.path, HealthCheckRequest(service: ""), as: HealthCheckResponse.self)
                await probe.close()
                return Self.serving(result)
            },
        ]
    }

    private static func serving(_ result: Result<HealthCheckResponse, GRPCStatus>) -> Observation {
        let got = describe(result) { response in response.status.protoName }
        return Observation(got: got, passed: got == "SERVING")
    }

    // MARK: §2 happy paths

    private var happyPathCases: [Case] {
        [
            Case(name: "link.approved", specReference: "§2 LinkAccount, §4 link", expected: "APPROVED with a link_id") {
                [self] in
                let wallet = try await testWallet()
                let result = await link(linkRequest(wallet: wallet, code: try await linkCode(wallet)))
                let got = Self.describe(result) { Self.describe($0) + ($0.linkID.isEmpty ? " without link_id" : "") }
                return Observation(got: got, passed: got == "APPROVED")
            },
            Case(
                name: "charge.approved", specReference: "§2 Charge, §4 charge",
                expected: "APPROVED with a charge_id; wallet balance +1,000"
            ) { [self] in
                let (wallet, link) = try await linkedWallet()
                let before = try await balanceYen(wallet)
                let result = await charge(link: link, amountYen: 1_000)
                let credited = try await balanceYen(wallet) - before
                let got = Self.describe(result) {
                    Self.describe($0) + ($0.chargeID.isEmpty ? " without charge_id" : "")
                }
                return Observation(got: "\(got), balance +\(credited)", passed: got == "APPROVED" && credited == 1_000)
            },
            Case(
                name: "charge.get_charge", specReference: "§2 GetCharge",
                expected: "the original decision and charge_id"
            ) { [self] in
                let (_, link) = try await linkedWallet()
                let request = ChargeRequest(
                    header: header(), linkID: link, amountYen: 1_000, customerAuth: strongAuth())
                guard case .success(let first) = await charge(request) else {
                    throw SetupFailure(what: "Charge failed")
                }
                let get = GetChargeRequest(header: header(), originalRequestID: request.header.requestID)
                let result: Result<ChargeResponse, GRPCStatus> = await bank.call(BankGatewayMethods.getCharge.path, get)
                let got = Self.describe(result) { "\(Self.describe($0)) \($0.chargeID)" }
                return Observation(got: got, passed: got == "\(Self.describe(first)) \(first.chargeID)")
            },
            Case(name: "unlink.approved", specReference: "§2 Unlink", expected: "unlinked = true") { [self] in
                let (_, link) = try await linkedWallet()
                let got = Self.describe(await unlink(link)) { "unlinked = \($0.unlinked)" }
                return Observation(got: got, passed: got == "unlinked = true")
            },
            Case(
                name: "receipt.verifies", specReference: "§5 receipts",
                expected: "receipt_signature verifies with pki/receipt.pub.pem"
            ) { [self] in
                let (_, link) = try await linkedWallet()
                switch await charge(link: link, amountYen: 1_000) {
                case .success(let response):
                    let valid = configuration.verifyReceipt(response)
                    var tampered = response
                    tampered.processedAtUnixMs += 1
                    let tamperedValid = configuration.verifyReceipt(tampered)
                    let verdict = valid ? "verifies" : "does NOT verify"
                    return Observation(
                        got: "\(response.receiptSignature.count)-byte signature \(verdict)"
                            + (tamperedValid ? "; a tampered response also verifies" : ""),
                        passed: valid && !tamperedValid)
                case .failure(let status):
                    return Observation(got: status.description, passed: false)
                }
            },
            Case(
                name: "receipt.binds_request", specReference: "§2 ChargeResponse 6-10, §5 receipts",
                expected: "request_id, bank_code, link_id, amount_yen of the request; a 16-hex receipt_key_id"
            ) { [self] in
                let (_, link) = try await linkedWallet()
                let request = ChargeRequest(
                    header: header(), linkID: link, amountYen: 1_234, customerAuth: strongAuth())
                switch await charge(request) {
                case .success(let response):
                    let keyIDOK =
                        response.receiptKeyID.count == 16
                        && response.receiptKeyID.allSatisfy { "0123456789abcdef".contains($0) }
                    let bound =
                        response.requestID == request.header.requestID
                        && response.bankCode == request.header.bankCode && response.linkID == request.linkID
                        && response.amountYen == request.amountYen
                    return Observation(
                        got: "request_id=\(response.requestID) bank_code=\(response.bankCode) "
                            + "link_id=\(response.linkID) amount_yen=\(response.amountYen) "
                            + "receipt_key_id=\(response.receiptKeyID)",
                        passed: bound && keyIDOK && configuration.verifyReceipt(response))
                case .failure(let status):
                    return Observation(got: status.description, passed: false)
                }
            },
        ]
    }

    // MARK: §3 statuses

    private var statusCases: [Case] {
        [
            Case(name: "status.wrong_bank_code", specReference: "§3", expected: "PERMISSION_DENIED") { [self] in
                let other = configuration.bankCode == "9999" ? "9998" : "9999"
                let request = GetChargeRequest(header: header(bankCode: other), originalRequestID: nextID("none"))
                return Self.status(
                    await bank.callRaw(BankGatewayMethods.getCharge.path, .message(try Self.buffer(request))),
                    .permissionDenied)
            },
            Case(name: "status.bank_calling_admin", specReference: "§3", expected: "PERMISSION_DENIED") { [self] in
                Self.status(
                    await bank.callRaw(AdminMethods.listBanks.path, .message(ByteBuffer())), .permissionDenied)
            },
            Case(name: "status.amount_not_positive", specReference: "§3", expected: "INVALID_ARGUMENT") { [self] in
                let (_, link) = try await linkedWallet()
                let request = ChargeRequest(header: header(), linkID: link, amountYen: 0, customerAuth: strongAuth())
                return Self.status(
                    await bank.callRaw(BankGatewayMethods.charge.path, .message(try Self.buffer(request))),
                    .invalidArgument)
            },
            Case(name: "status.stale_sent_at", specReference: "§3", expected: "FAILED_PRECONDITION") { [self] in
                let stale = ConformanceClock.nowUnixMs() - 600_000
                let request = GetChargeRequest(header: header(sentAtUnixMs: stale), originalRequestID: nextID("none"))
                return Self.status(
                    await bank.callRaw(BankGatewayMethods.getCharge.path, .message(try Self.buffer(request))),
                    .failedPrecondition)
            },
            Case(name: "status.request_id_reused_other_body", specReference: "§3", expected: "ALREADY_EXISTS") {
                [self] in
                let (_, link) = try await linkedWallet()
                var request = ChargeRequest(
                    header: header(), linkID: link, amountYen: 1_000, customerAuth: strongAuth())
                guard case .success = await charge(request) else { throw SetupFailure(what: "first Charge failed") }
                request.amountYen = 2_000
                return Self.status(
                    await bank.callRaw(BankGatewayMethods.charge.path, .message(try Self.buffer(request))),
                    .alreadyExists)
            },
            Case(name: "status.get_charge_unknown", specReference: "§3", expected: "NOT_FOUND") { [self] in
                let request = GetChargeRequest(header: header(), originalRequestID: nextID("never-sent-"))
                return Self.status(
                    await bank.callRaw(BankGatewayMethods.getCharge.path, .message(try Self.buffer(request))),
                    .notFound)
            },
            Case(name: "status.message_over_64KiB", specReference: "§1, §3", expected: "RESOURCE_EXHAUSTED") { [self] in
                let length = Self.maxMessageBytes + 1
                var framed = ByteBuffer()
                framed.writeInteger(UInt8(0))
                framed.writeInteger(UInt32(length))
                framed.writeRepeatingByte(0x0A, count: length)
                return Self.status(await bank.callRaw(BankGatewayMethods.charge.path, .raw(framed)), .resourceExhausted)
            },
            Case(name: "status.not_a_message", specReference: "§3", expected: "INVALID_ARGUMENT") { [self] in
                // Field 1, length-delimited, claiming 127 bytes that are not there.
                let garbage = ByteBuffer(bytes: [0x0A, 0x7F, 0xFF, 0xFF])
                return Self.status(
                    await bank.callRaw(BankGatewayMethods.charge.path, .message(garbage)), .invalidArgument)
            },
            Case(name: "status.unknown_method", specReference: "§3", expected: "UNIMPLEMENTED") { [self] in
                let request = GetChargeRequest(header: header(), originalRequestID: nextID("none"))
                return Self.status(
                    await bank.callRaw("/\(BankGatewayMethods.serviceName)/Refund", .message(try Self.buffer(request))),
                    .unimplemented)
            },
            Case(
                name: "status.in_flight_twin", specReference: "§3",
                expected:
                    "\(Self.inFlightTwins) identical Charges at once: each ABORTED or the same charge_id; one credit"
            ) { [self] in
                let (wallet, link) = try await linkedWallet()
                let before = try await balanceYen(wallet)
                let request = ChargeRequest(
                    header: header(), linkID: link, amountYen: 1_000, customerAuth: strongAuth())
                let results = await withTaskGroup(of: Result<ChargeResponse, GRPCStatus>.self) { group in
                    for _ in 0..<Self.inFlightTwins { group.addTask { await self.charge(request) } }
                    var all: [Result<ChargeResponse, GRPCStatus>] = []
                    for await result in group { all.append(result) }
                    return all
                }
                let credited = try await balanceYen(wallet) - before
                var aborted = 0
                var chargeIDs = Set<String>()
                var other: [String] = []
                for result in results {
                    switch result {
                    case .success(let response) where response.decision == .approved:
                        chargeIDs.insert(response.chargeID)
                    case .failure(let status) where status.code == .aborted: aborted += 1
                    default: other.append(Self.describe(result) { Self.describe($0) })
                    }
                }
                let answered = results.count - aborted - other.count
                let got =
                    "\(answered) answered with \(chargeIDs.count) charge_id(s), \(aborted) ABORTED"
                    + (other.isEmpty ? "" : ", other: \(other.prefix(3).joined(separator: "; "))")
                    + ", balance +\(credited)"
                return Observation(
                    got: got, passed: other.isEmpty && answered >= 1 && chargeIDs.count == 1 && credited == 1_000)
            },
        ]
    }

    static func buffer(_ message: some WireMessage) throws -> ByteBuffer {
        ByteBuffer(bytes: try message.wireBytes())
    }

    static func status(_ result: RPCCallResult, _ expected: GRPCStatus.Code) -> Observation {
        let got = result.status.code.name + (result.status.message.isEmpty ? "" : " (\(result.status.message))")
        return Observation(got: got, passed: result.status.code == expected)
    }

    // MARK: §4 link declines

    private var linkDeclineCases: [Case] {
        [
            declinedLink("link.decline.password_only", .weakCustomerAuth) { suite in
                let wallet = try await suite.testWallet()
                return suite.linkRequest(wallet: wallet, code: try await suite.linkCode(wallet), auth: .passwordOnly)
            },
            declinedLink("link.decline.name_mismatch", .nameMismatch) { suite in
                let wallet = try await suite.testWallet()
                return suite.linkRequest(wallet: wallet, code: try await suite.linkCode(wallet), kana: "サトウ ハナコ")
            },
            declinedLink("link.decline.ekyc_not_verified", .walletKYCIncomplete) { suite in
                let wallet = try await suite.testWallet(ekycVerified: false)
                return suite.linkRequest(wallet: wallet, code: try await suite.linkCode(wallet))
            },
            declinedLink("link.decline.phone_unverified", .walletPhoneUnverified) { suite in
                let wallet = try await suite.testWallet(phoneVerified: false)
                return suite.linkRequest(wallet: wallet, code: try await suite.linkCode(wallet))
            },
            declinedLink("link.decline.link_code_reused", .linkCodeInvalid) { suite in
                let wallet = try await suite.testWallet()
                let code = try await suite.linkCode(wallet)
                guard case .success(let first) = await suite.link(suite.linkRequest(wallet: wallet, code: code)),
                    first.decision == .approved
                else { throw SetupFailure(what: "first LinkAccount with the code was not APPROVED") }
                return suite.linkRequest(wallet: wallet, code: code)
            },
            declinedLink("link.decline.token_linked_to_another_wallet", .accountLinkLimit) { suite in
                let token = suite.token()
                let first = try await suite.testWallet()
                let request = suite.linkRequest(wallet: first, code: try await suite.linkCode(first), token: token)
                guard case .success(let linked) = await suite.link(request), linked.decision == .approved else {
                    throw SetupFailure(what: "LinkAccount of the token to the first wallet was not APPROVED")
                }
                let second = try await suite.testWallet()
                return suite.linkRequest(wallet: second, code: try await suite.linkCode(second), token: token)
            },
            // SPEC §4: the token is not actively linked to any wallet, "this one included" (one active link per
            // token, so the rapid-charge rule cannot be dodged with a second link).
            declinedLink("link.decline.token_linked_again_to_the_same_wallet", .accountLinkLimit) { suite in
                let token = suite.token()
                let wallet = try await suite.testWallet()
                let request = suite.linkRequest(wallet: wallet, code: try await suite.linkCode(wallet), token: token)
                guard case .success(let linked) = await suite.link(request), linked.decision == .approved else {
                    throw SetupFailure(what: "the first LinkAccount of the token was not APPROVED")
                }
                return suite.linkRequest(wallet: wallet, code: try await suite.linkCode(wallet), token: token)
            },
        ]
    }

    private func declinedLink(
        _ name: String, _ reason: DeclineReason,
        _ prepare: @escaping @Sendable (ConformanceSuite) async throws -> LinkAccountRequest
    ) -> Case {
        let expected = "DECLINED \(Self.name(reason))"
        return Case(name: name, specReference: "§4 link", expected: expected) { [self] in
            let got = Self.describe(await link(try await prepare(self))) { Self.describe($0) }
            return Observation(got: got, passed: got == expected)
        }
    }

    // MARK: §4 charge declines and holds

    private var chargeCases: [Case] {
        let maxChargeYen = profile.maxChargeYen > 0 ? profile.maxChargeYen : 300_000
        let newLinkMaxYen = profile.newLinkMaxChargeYen > 0 ? profile.newLinkMaxChargeYen : 50_000
        // The monitoring rule holds ≥ 80 % of the limit in force; within 24 h of linking that is the caution limit.
        let holdYen = (newLinkMaxYen * 8 + 9) / 10
        return [
            chargeOutcome("charge.decline.over_per_charge_limit", "§4 charge", "DECLINED LIMIT_EXCEEDED") {
                suite, link in
                await suite.charge(link: link, amountYen: maxChargeYen + 1)
            },
            chargeOutcome("charge.decline.new_link_caution", "§4 charge", "DECLINED LIMIT_EXCEEDED") { suite, link in
                await suite.charge(link: link, amountYen: newLinkMaxYen + 1)
            },
            chargeOutcome("charge.hold.80_percent_of_limit_on_new_link", "§4 monitoring", "HELD", creditYen: 0) {
                suite, link in await suite.charge(link: link, amountYen: holdYen)
            },
            chargeOutcome("charge.hold.fourth_in_10_minutes", "§4 monitoring", "HELD", creditYen: 3_000) {
                suite, link in
                for n in 1...3 {
                    guard case .success(let response) = await suite.charge(link: link, amountYen: 1_000),
                        response.decision == .approved
                    else { throw SetupFailure(what: "charge \(n) of 3 before the fourth was not APPROVED") }
                }
                return await suite.charge(link: link, amountYen: 1_000)
            },
            chargeOutcome("charge.decline.link_not_active", "§4 charge", "DECLINED LINK_NOT_ACTIVE", creditYen: 0) {
                suite, link in
                guard case .success(let response) = await suite.unlink(link), response.unlinked else {
                    throw SetupFailure(what: "Unlink did not unlink")
                }
                return await suite.charge(link: link, amountYen: 1_000)
            },
        ]
    }

    /// A charge case on a fresh link: the answer must be `expected` and the wallet credited `creditYen` in all.
    private func chargeOutcome(
        _ name: String, _ spec: String, _ expected: String, creditYen: Int64 = 0,
        _ act: @escaping @Sendable (ConformanceSuite, String) async throws -> Result<ChargeResponse, GRPCStatus>
    ) -> Case {
        Case(name: name, specReference: spec, expected: "\(expected), balance +\(creditYen)") { [self] in
            let (wallet, link) = try await linkedWallet()
            let before = try await balanceYen(wallet)
            let got = Self.describe(try await act(self, link)) { Self.describe($0) }
            let credited = try await balanceYen(wallet) - before
            return Observation(got: "\(got), balance +\(credited)", passed: got == expected && credited == creditYen)
        }
    }

    // MARK: §3 idempotency

    private var idempotencyCases: [Case] {
        [
            Case(
                name: "charge.idempotent_retry", specReference: "§3 idempotency",
                expected: "the retry returns the same charge_id; balance +1,000 once"
            ) { [self] in
                let (wallet, link) = try await linkedWallet()
                let before = try await balanceYen(wallet)
                let request = ChargeRequest(
                    header: header(), linkID: link, amountYen: 1_000, customerAuth: strongAuth())
                let first = await charge(request)
                let retry = await charge(request)
                let credited = try await balanceYen(wallet) - before
                guard case .success(let a) = first, case .success(let b) = retry else {
                    let got =
                        "first \(Self.describe(first) { Self.describe($0) }), "
                        + "retry \(Self.describe(retry) { Self.describe($0) })"
                    return Observation(got: got, passed: false)
                }
                let same = a.chargeID == b.chargeID && !a.chargeID.isEmpty
                return Observation(
                    got: "\(Self.describe(a)) then \(Self.describe(b)), \(same ? "same" : "different") charge_id, "
                        + "balance +\(credited)",
                    passed: same && a.decision == .approved && b.decision == a.decision && credited == 1_000)
            },
            Case(
                name: "charge.restamped_retry", specReference: "§3 idempotency",
                expected: "a retry with a fresh sent_at returns the first answer byte for byte; balance +1,000 once"
            ) { [self] in
                let (wallet, link) = try await linkedWallet()
                let before = try await balanceYen(wallet)
                let request = ChargeRequest(
                    header: header(), linkID: link, amountYen: 1_000, customerAuth: strongAuth())
                let first = await charge(request)
                var restamped = request
                restamped.header.sentAtUnixMs += 1_000  // "the same body" leaves sent_at out
                let retry = await charge(restamped)
                let credited = try await balanceYen(wallet) - before
                guard case .success(let a) = first, case .success(let b) = retry else {
                    let got =
                        "first \(Self.describe(first) { Self.describe($0) }), "
                        + "re-stamped retry \(Self.describe(retry) { Self.describe($0) })"
                    return Observation(got: got, passed: false)
                }
                let identical = try a.wireBytes() == b.wireBytes()
                return Observation(
                    got: "\(Self.describe(a)) then \(Self.describe(b)), "
                        + "\(identical ? "identical" : "different") answers, balance +\(credited)",
                    passed: identical && a.decision == .approved && credited == 1_000)
            },
        ]
    }
}
