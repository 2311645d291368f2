import GatewayRPC
import GatewayWire
import NIOCore

/// The bank's side of SPEC §9: it watches its events (`WatchEvents`) while the operator releases and rejects holds
/// on its test wallets and reverses a test charge, and it resumes from a sequence. Reversals need four eyes (§8):
/// the suite's operator requests, the second operator (`ConformanceTarget.secondOperatorCertificatePath`)
/// approves. docs/CONFORMANCE.md lists these cases.
extension ConformanceSuite {
    /// How long one watch collects events before its deadline ends it. 2 s.
    static let eventWatchWindowMs: Int64 = 2_000

    var eventCases: [Case] {
        [
            Case(
                name: "events.holds_released_and_rejected", specReference: "§9 WatchEvents",
                expected: "CHARGE_HELD ×2, CHARGE_RELEASED, CHARGE_REJECTED for the test charges, in order, gap-free"
            ) { [self] in
                let (_, link) = try await linkedWallet()
                let first = try await heldCharge(link)
                let second = try await heldCharge(link)
                async let watched = watchEvents(after: 0, windowMs: Self.eventWatchWindowMs)
                try await operatorStep(
                    AdminMethods.releaseHold, ReleaseHoldRequest(chargeID: first, reason: "conformance"))
                try await operatorStep(
                    AdminMethods.rejectHold, RejectHoldRequest(chargeID: second, reason: "conformance"))
                let (events, status) = await watched
                let mine = events.filter { $0.chargeID == first || $0.chargeID == second }
                    .map { "\(Self.name($0.type)) \($0.chargeID == first ? "1" : "2")" }
                let got = mine.joined(separator: ", ") + Self.gapNote(events, status)
                let expected = "CHARGE_HELD 1, CHARGE_HELD 2, CHARGE_RELEASED 1, CHARGE_REJECTED 2"
                return Observation(got: got, passed: got == expected)
            },
            Case(
                name: "events.charge_reversed", specReference: "§9 reversal, §8 four eyes",
                expected: "CHARGE_REVERSED of 1,000 yen for the test charge after a second operator approves"
            ) { [self] in
                guard let approver = try await secondOperator() else {
                    return Observation(got: "no second operator certificate configured", passed: false)
                }
                defer { Task { await approver.close() } }
                let (_, link) = try await linkedWallet()
                guard case .success(let charged) = await charge(link: link, amountYen: 1_000),
                    charged.decision == .approved
                else { throw SetupFailure(what: "the 1,000 yen test charge was not APPROVED") }
                let request = try await operatorStep(
                    AdminMethods.reverseCharge,
                    ReverseChargeRequest(
                        chargeID: charged.chargeID, amountYen: 1_000, reason: "conformance reversal",
                        keepChargesOpen: true))
                async let watched = watchEvents(after: 0, windowMs: Self.eventWatchWindowMs)
                let approved = await approver.call(
                    AdminMethods.approve.path,
                    ApproveRequest(approvalID: request.approvalID, reason: "conformance"), as: Approval.self)
                guard case .success = approved else {
                    throw SetupFailure(what: "Admin/Approve by the second operator: \(approved)")
                }
                let (events, status) = await watched
                let mine = events.filter { $0.chargeID == charged.chargeID }
                    .map { "\(Self.name($0.type)) \($0.amountYen)" }
                let got = mine.joined(separator: ", ") + Self.gapNote(events, status)
                return Observation(got: got, passed: got == "CHARGE_REVERSED 1000")
            },
            Case(
                name: "events.resume_from_sequence", specReference: "§9 WatchEvents after_sequence",
                expected: "a watch from N starts at N+1 and repeats nothing"
            ) { [self] in
                let (_, link) = try await linkedWallet()
                _ = try await heldCharge(link)
                let (all, _) = await watchEvents(after: 0, windowMs: Self.eventWatchWindowMs)
                guard let linked = all.first(where: { $0.type == .linkCreated && $0.linkID == link }) else {
                    return Observation(got: "LINK_CREATED of the test link not seen from 0", passed: false)
                }
                let n = linked.sequence
                let (resumed, status) = await watchEvents(after: n, windowMs: Self.eventWatchWindowMs)
                let first = resumed.first.map { "first \($0.sequence)" } ?? "no events"
                let repeated = resumed.contains { $0.sequence <= n }
                let got = "from \(n): \(first)" + (repeated ? ", repeats an event" : "") + Self.gapNote(resumed, status)
                return Observation(got: got, passed: got == "from \(n): first \(n + 1)")
            },
            Case(
                name: "events.sequence_never_issued", specReference: "§3 OUT_OF_RANGE",
                expected: "OUT_OF_RANGE"
            ) { [self] in
                let (_, status) = await watchEvents(after: UInt64(1) << 62, windowMs: Self.eventWatchWindowMs)
                return Observation(got: status.code.name, passed: status.code == .outOfRange)
            },
        ]
    }

    /// The bank's events after `after` until the window's deadline ends the stream, and the status it ended with.
    func watchEvents(after: UInt64, windowMs: Int64) async -> (events: [BankEvent], status: GRPCStatus) {
        let request = WatchEventsRequest(header: header(), afterSequence: after)
        guard let bytes = try? request.wireBytes() else {
            return ([], GRPCStatus(.internal, "the suite could not encode WatchEventsRequest"))
        }
        // Tagged like every request of a case (GatewayConnection.callRaw), so the gateway witnesses it.
        let tag = ConformanceSuite.witnessTag.map { [(ConformanceWitnessing.metadataName, $0)] } ?? []
        let result = await bank.rpc.unary(
            path: BankGatewayMethods.watchEvents.path, request: .message(ByteBuffer(bytes: bytes)),
            timeout: .milliseconds(windowMs), metadata: tag)
        var events: [BankEvent] = []
        for message in result.messages {
            guard let event = try? BankEvent(wireBytes: Array(message.readableBytesView)) else {
                return (events, GRPCStatus(.internal, "a stream message is not a bankgw.v1.BankEvent"))
            }
            events.append(event)
        }
        return (events, result.status)
    }

    /// "" when the stream was gap-free from its first event and ended by the window's deadline; else what was off.
    static func gapNote(_ events: [BankEvent], _ status: GRPCStatus) -> String {
        var note = ""
        for (previous, next) in zip(events, events.dropFirst()) where next.sequence != previous.sequence + 1 {
            note += "; gap \(previous.sequence) → \(next.sequence)"
            break
        }
        if status.code != .deadlineExceeded { note += "; stream ended \(status.code.name) \(status.message)" }
        return note
    }

    static func name(_ type: EventType) -> String {
        switch type {
        case .unspecified: return "EVENT_TYPE_UNSPECIFIED"
        case .linkCreated: return "LINK_CREATED"
        case .linkRemoved: return "LINK_REMOVED"
        case .chargeHeld: return "CHARGE_HELD"
        case .chargeReleased: return "CHARGE_RELEASED"
        case .chargeRejected: return "CHARGE_REJECTED"
        case .chargeReversed: return "CHARGE_REVERSED"
        case .compensationPaid: return "COMPENSATION_PAID"
        case .bankStateChanged: return "BANK_STATE_CHANGED"
        case .walletFrozen: return "WALLET_FROZEN"
        }
    }

    /// A charge the monitoring rules hold on a new link: 90 % of the new-link limit (SPEC §4: ≥ 80 % holds).
    private func heldCharge(_ link: String) async throws -> String {
        let limit = profile.newLinkMaxChargeYen > 0 ? profile.newLinkMaxChargeYen : 50_000
        guard case .success(let response) = await charge(link: link, amountYen: limit * 9 / 10),
            response.decision == .held
        else { throw SetupFailure(what: "a charge of 90 % of the new-link limit was not HELD") }
        return response.chargeID
    }

    @discardableResult
    private func operatorStep<Request, Response>(
        _ method: WireMethod<Request, Response>, _ request: Request
    ) async throws -> Response {
        switch await admin.call(method.path, request, as: Response.self) {
        case .success(let response): return response
        case .failure(let status): throw SetupFailure(what: "Admin/\(method.name): \(status)")
        }
    }

    /// The second operator's connection (SPEC §8 four eyes), or nil when none is configured.
    private func secondOperator() async throws -> GatewayConnection? {
        let target = configuration.target
        guard let certificate = target.secondOperatorCertificatePath, let key = target.secondOperatorKeyPath else {
            return nil
        }
        do {
            return try await GatewayConnection.tls(
                host: target.host, port: target.port, caPath: target.caPath, certificatePath: certificate,
                keyPath: key, timeoutMs: configuration.callTimeoutMs)
        } catch {
            throw SetupFailure(what: "second operator connection: \(error)")
        }
    }
}
