import GatewayPolicy
import GatewayRPC
import GatewayTLS
import GatewayWire
import Logging
import Metrics
import NIOCore
import WalletCore

/// `bankgw.v1.BankGateway` (SPEC §2): LinkAccount, Charge, GetCharge, Unlink, WatchEvents, for bank certificates.
///
/// Every request, in SPEC order: decode and validate (codec) → the caller's certificate speaks for
/// `header.bank_code` (`RequestChecks`) → the bank is registered and within its rate limit → the wallet core, which
/// answers a stored request from the store (whatever its `sent_at`), refuses a new one whose `sent_at` is outside
/// the replay window, reads the facts in its writer transaction, runs the check chain (`LinkChecks` /
/// `ChargeChecks`) and applies the verdict with its idempotency record → the (signed) response. GetCharge, a read,
/// checks `sent_at` before reading. Business rules live in GatewayPolicy; this type
/// only composes the stages and maps their outcomes to SPEC §3 statuses.
public final class BankGatewayService: Sendable {
    public static let serviceName = BankGatewayMethods.serviceName

    private let store: WalletStore
    private let linkChecks: LinkChecks
    private let chargeChecks: ChargeChecks
    private let rateLimiter: BankRateLimiter
    private let directory: BankDirectory
    private let receipts: ReceiptSigner
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let metrics: GatewayMetrics

    /// `linkChecks` / `chargeChecks` default to the SPEC chains; tests (and the conformance suite's "broken
    /// gateway" check) compose others. There is no switch for that in the shipped binary. `directory` is shared
    /// with `AdminService`, which refreshes it when a bank's profile changes.
    public init(
        store: WalletStore, receipts: ReceiptSigner, linkChecks: LinkChecks = .standard,
        chargeChecks: ChargeChecks = .standard, rateLimiter: BankRateLimiter = BankRateLimiter(),
        directory: BankDirectory = BankDirectory(),
        clock: @escaping @Sendable () -> Int64 = WalletStore.systemClock,
        logger: Logger = Logger(label: "bankgw.bank-service"),
        metrics: GatewayMetrics = GatewayMetrics()
    ) {
        self.store = store
        self.receipts = receipts
        self.linkChecks = linkChecks
        self.chargeChecks = chargeChecks
        self.rateLimiter = rateLimiter
        self.directory = directory
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    public var services: RPCServices {
        var services = RPCServices()
        services.register(
            BankGatewayMethods.linkAccount,
            .unaryAsync { [self] request, context in
                let link = try MessageCoding.decode(LinkAccountRequest.self, from: request)
                let trace = requestTrace(link.header, context)
                let bank = try await admit(link.header, context, trace)
                let digest = try bodyDigest(link)
                let outcome = try await walletCall(link.header, trace) {
                    try await store.submitLink(
                        link, bankCode: bank, bodyDigest: digest.sha256, legacyBodyDigest: digest.legacySHA256,
                        freshness: freshness(link.header), linkCodeMAC: store.linkCodeMAC(of: link.linkCode),
                        decide: { [linkChecks] facts in linkChecks.evaluate(facts) },
                        clientAddress: context.remoteAddress,
                        decided: { [metrics] verdict in metrics.decided(verdict, bank: bank, operation: "link") }
                    )
                }
                trace.logger.info(
                    "link decided",
                    metadata: [
                        "decision": "\(outcome.response.decision)", "reason": "\(outcome.response.declineReason)",
                    ])
                if outcome.walletLinkingJustLocked {
                    raiseAlert(
                        rule: "link.locked", severity: "HIGH",
                        "wallet locked for linking after 5 declined links in a row", trace,
                        ["wallet": "\(link.walletAccountID)"])
                }
                return try MessageCoding.encode(outcome.response, context: context)
            })
        // The money path (issue 14): no task and no actor. Decoded and admitted on the event loop, judged and
        // recorded by the wallet writer, answered from the writer's thread through the responder; only a bank the
        // directory must first read from the store takes a task.
        services.register(
            BankGatewayMethods.charge,
            .unaryDeferred { [self] request, context, responder in
                do {
                    let charge = try MessageCoding.decode(ChargeRequest.self, from: request)
                    let trace = requestTrace(charge.header, context)
                    if let bank = try admitFromMemory(charge.header, context, trace) {
                        try submitCharge(charge, bank: bank, trace, context, responder)
                    } else {
                        Task {
                            do {
                                let bank = try await admit(charge.header, context, trace)
                                try submitCharge(charge, bank: bank, trace, context, responder)
                            } catch {
                                responder.fail(error)
                            }
                        }
                    }
                } catch {
                    responder.fail(error)
                }
            })
        services.register(
            BankGatewayMethods.getCharge,
            .unaryAsync { [self] request, context in
                let get = try MessageCoding.decode(GetChargeRequest.self, from: request)
                let trace = requestTrace(get.header, context)
                let bank = try await admit(get.header, context, trace)
                if let stale = freshness(get.header) { throw stale.status }
                let found = try await walletCall(get.header, trace) {
                    try await store.charge(bankCode: bank, requestID: get.originalRequestID)
                }
                guard let found else {
                    throw GRPCStatus(.notFound, "no charge of bank \(bank) with request_id \(get.originalRequestID)")
                }
                return try MessageCoding.encode(found, context: context, capacityHint: 160)
            })
        services.register(
            BankGatewayMethods.unlink,
            .unaryAsync { [self] request, context in
                let unlink = try MessageCoding.decode(UnlinkRequest.self, from: request)
                let trace = requestTrace(unlink.header, context)
                let bank = try await admit(unlink.header, context, trace)
                let digest = try bodyDigest(unlink)
                let outcome = try await walletCall(unlink.header, trace) {
                    try await store.unlink(
                        linkID: unlink.linkID, bankCode: bank, requestID: unlink.header.requestID,
                        bodyDigest: digest.sha256, legacyBodyDigest: digest.legacySHA256,
                        freshness: freshness(unlink.header), reason: unlink.reason
                    )
                }
                trace.logger.info(
                    "unlink answered",
                    metadata: [
                        "link_id": "\(unlink.linkID)", "unlinked": "\(outcome.response.unlinked)",
                    ])
                if outcome.walletChargesJustFrozen {
                    raiseAlert(
                        rule: "unlink.fraud", severity: "HIGH",
                        "unlink for fraud: charges to the wallet frozen until reviewed", trace,
                        ["link": "\(unlink.linkID)"])
                }
                return try MessageCoding.encode(outcome.response, context: context, capacityHint: 8)
            })
        // SPEC §9: the bank's events after `after_sequence`, then live. Any registered bank may watch, whatever its
        // state: a suspended bank still has to learn what happened to its charges.
        services.register(
            BankGatewayMethods.watchEvents,
            .serverStreaming { [self] request, responses, context in
                let watch = try MessageCoding.decode(WatchEventsRequest.self, from: request)
                let trace = requestTrace(watch.header, context)
                let bank = try await admit(watch.header, context, trace)
                if let stale = freshness(watch.header) { throw stale.status }
                trace.logger.info("watch events", metadata: ["after_sequence": "\(watch.afterSequence)"])
                do {
                    try await store.watchEvents(bankCode: bank, afterSequence: watch.afterSequence) { event in
                        try await responses.send(try MessageCoding.encode(event, context: context, capacityHint: 128))
                    }
                } catch let error as WalletError {
                    throw error.status
                }
            })
        return services
    }

    /// Hands an admitted Charge to the wallet writer; its completion answers the call.
    private func submitCharge(
        _ charge: ChargeRequest, bank: String, _ trace: RequestTrace, _ context: RPCCallContext,
        _ responder: RPCUnaryResponder
    ) throws(GRPCStatus) {
        let digest = try bodyDigest(charge)
        // The trace id rides into the audit entries this request writes (`AuditTrace`: captured when the write is
        // made, here).
        AuditTrace.$traceID.withValue(trace.context.traceID) {
            store.submitCharge(
                charge, bankCode: bank, bodyDigest: digest.sha256, legacyBodyDigest: digest.legacySHA256,
                freshness: freshness(charge.header),
                decide: { [chargeChecks] facts in chargeChecks.evaluate(facts) },
                sign: { [receipts] response in receipts.seal(response) }, clientAddress: context.remoteAddress,
                decided: { [metrics] verdict in metrics.decided(verdict, bank: bank, operation: "charge") },
                completion: { [self] result in
                    switch result {
                    case .success(let response):
                        // Called on the wallet writer's thread: the log line and the encoding run on the event loop.
                        responder.succeed(onEventLoop: {
                            trace.logger.info(
                                "charge decided",
                                metadata: [
                                    "charge_id": "\(response.chargeID)", "decision": "\(response.decision)",
                                    "reason": "\(response.declineReason)", "amount_yen": "\(charge.amountYen)",
                                ])
                            return try MessageCoding.encode(response, context: context, capacityHint: 160)
                        })
                    case .failure(let error):
                        responder.fail(walletStatus(error, charge.header, trace))
                    }
                })
        }
    }

    /// SPEC §3 before any wallet work: who is calling, whether the header speaks for them, registry, rate.
    /// Returns the bank code the request is for. Freshness is not judged here: a stored request is answered
    /// whatever its `sent_at` (the wallet core applies `freshness` only to new acts).
    private func admit(
        _ header: RequestHeader, _ context: RPCCallContext, _ trace: RequestTrace
    ) async throws(GRPCStatus) -> String {
        try checkCaller(header, context)
        let bank: BankDirectory.Entry?
        do {
            bank = try await directory.entry(for: header.bankCode, store: store)
        } catch {
            throw storeStatus(error, header)
        }
        return try admitRate(header, bank, trace)
    }

    /// `admit` without a task when memory knows the bank (every request but a bank's first after start-up or a
    /// profile change): the bank code, or nil when the directory must read the store (call `admit`). The same
    /// checks in the same order: the caller first, so an unknown caller never costs a store read.
    private func admitFromMemory(
        _ header: RequestHeader, _ context: RPCCallContext, _ trace: RequestTrace
    ) throws(GRPCStatus) -> String? {
        try checkCaller(header, context)
        switch directory.known(header.bankCode) {
        case .entry(let entry): return try admitRate(header, entry, trace)
        case .absent: return try admitRate(header, nil, trace)
        case .unknown: return nil
        }
    }

    /// The certificate speaks for `header.bank_code` (SPEC §3/§4: a bank certificate, its own code).
    private func checkCaller(_ header: RequestHeader, _ context: RPCCallContext) throws(GRPCStatus) {
        guard let peer = context.peer else {
            throw GRPCStatus(.permissionDenied, "a partner client certificate is required")
        }
        let caller: Caller
        switch peer {
        case .bank(let code): caller = .bank(code: code)
        case .operatorName(let name): caller = .operatorName(name)
        }
        if let rejection = RequestChecks.bankService(caller: caller, headerBankCode: header.bankCode) {
            throw rejection.status
        }
    }

    /// The bank's rate limit, then its registration (`bank` nil: not registered).
    private func admitRate(
        _ header: RequestHeader, _ bank: BankDirectory.Entry?, _ trace: RequestTrace
    ) throws(GRPCStatus) -> String {
        // An unregistered code (a partner certificate for a bank not in the registry) is rate-limited too, at
        // `BankDirectory.unregisteredMaxRequestsPerSecond`, so it can neither flood the log nor the store.
        let rate = bank?.maxRequestsPerSecond ?? BankDirectory.unregisteredMaxRequestsPerSecond
        if let rejection = rateLimiter.admit(bankCode: header.bankCode, maxRequestsPerSecond: rate) {
            if bank != nil { metrics.rateLimited(bank: header.bankCode) }
            trace.logger.notice("rate limited")
            throw rejection.status
        }
        guard bank != nil else {
            throw GRPCStatus(.permissionDenied, "bank \(header.bankCode) is not registered with the gateway")
        }
        return header.bankCode
    }

    /// The replay window (SPEC §3) for `header` now: nil when fresh, else the FAILED_PRECONDITION to send if the
    /// request turns out to be new.
    private func freshness(_ header: RequestHeader) -> Rejection? {
        RequestChecks.replayWindow(sentAtUnixMs: header.sentAtUnixMs, nowUnixMs: clock())
    }

    /// A wallet-store failure as the bank sees it: a plain UNAVAILABLE; the SQLite details go to the log only.
    private func storeStatus(_ error: WalletError, _ header: RequestHeader) -> GRPCStatus {
        switch error {
        case .storeUnavailable, .overloaded, .invariantViolated:
            logger.error(
                "wallet store: \(error)",
                metadata: ["bank": "\(header.bankCode)", "request_id": "\(header.requestID)"])
        default:
            break
        }
        return error.status
    }

    /// Runs a wallet-core call, mapping its errors to statuses (and raising the fraud alert of SPEC §3).
    private func walletCall<T>(
        _ header: RequestHeader, _ trace: RequestTrace, _ body: () async throws -> T
    ) async throws(GRPCStatus) -> T {
        do {
            // The trace id rides into the audit entries this request writes (`AuditTrace`).
            return try await AuditTrace.$traceID.withValue(trace.context.traceID) { try await body() }
        } catch let error as WalletError {
            throw walletStatus(error, header, trace)
        } catch let status as GRPCStatus {
            throw status
        } catch {
            // The handler's Task was cancelled (deadline, caller gone): the transport answers for it.
            throw GRPCStatus(.cancelled, "cancelled")
        }
    }

    /// A wallet-core error as the bank's status, raising the fraud alert of SPEC §3 for a reused request id.
    private func walletStatus(_ error: WalletError, _ header: RequestHeader, _ trace: RequestTrace) -> GRPCStatus {
        if case .duplicateRequestDifferentBody = error {
            raiseAlert(
                rule: "idempotency.conflict", severity: "MEDIUM", "request_id reused with a different body", trace,
                [:])
        }
        return storeStatus(error, header)
    }

    /// The idempotency digest (SPEC §3: "the same body" is the request with `header.sent_at_unix_ms` left out):
    /// SHA-256 of the canonical protobuf-c encoding with `sent_at` zeroed (field order and unknown fields on the
    /// wire do not change it; the content does), and the whole request's digest that records stored before
    /// migration `v4-idempotency-digest-version` hold.
    private func bodyDigest<M: BankRequestMessage>(_ message: M) throws(GRPCStatus) -> BodyDigest {
        do {
            var withoutSentAt = message
            withoutSentAt.header.sentAtUnixMs = 0
            // The legacy digest only when the wallet core meets a pre-v4 record (issue 14: not on the hot path).
            return BodyDigest(
                sha256: Digest.sha256(try withoutSentAt.wireBytes()),
                lazyLegacySHA256: {
                    guard let bytes = try? message.wireBytes() else {
                        assertionFailure("a decoded request re-encodes")
                        return nil
                    }
                    return Digest.sha256(bytes)
                })
        } catch {
            // A decoded request always re-encodes (the fuzzer checks exactly that).
            logger.error("could not re-encode \(M.protoName): \(error)")
            throw GRPCStatus(.internal, "internal error")
        }
    }

    /// The request's trace (its `traceparent`, else a new one) and a logger carrying bank, request_id and
    /// trace_id. A malformed `traceparent` is ignored (W3C), counted and logged at debug without its text.
    private func requestTrace(_ header: RequestHeader, _ context: RPCCallContext) -> RequestTrace {
        let (trace, ignored) = TraceContext.forRequest(traceparent: context.traceparent)
        var logger = self.logger
        logger[metadataKey: "bank"] = "\(header.bankCode)"
        logger[metadataKey: "request_id"] = "\(header.requestID)"
        logger[metadataKey: "trace_id"] = "\(trace.traceID)"
        logger[metadataKey: "method"] = "\(context.path)"
        if ignored {
            metrics.traceparentIgnored()
            logger.debug("malformed traceparent ignored; a new trace was started")
        }
        return RequestTrace(context: trace, logger: logger)
    }

    /// SPEC §8 alert (records arrive with the desk's alert store; today a log line and the alert metrics).
    private func raiseAlert(
        rule: String, severity: String, _ what: String, _ trace: RequestTrace, _ extra: Logger.Metadata
    ) {
        metrics.alertRaised(rule: rule, severity: severity)
        var metadata: Logger.Metadata = ["rule": "\(rule)", "severity": "\(severity)"]
        metadata.merge(extra) { first, _ in first }
        trace.logger.error("FRAUD ALERT: \(what)", metadata: metadata)
    }
}

/// One request's trace context and its logger (bank, request_id, trace_id in every line).
struct RequestTrace: Sendable {
    var context: TraceContext
    var logger: Logger
}

/// A bank request with the SPEC §2 `RequestHeader` (its `sent_at` is left out of the idempotency digest).
protocol BankRequestMessage: WireMessage {
    var header: RequestHeader { get set }
}

extension LinkAccountRequest: BankRequestMessage {}
extension ChargeRequest: BankRequestMessage {}
extension UnlinkRequest: BankRequestMessage {}

extension Rejection {
    var status: GRPCStatus {
        switch code {
        case .permissionDenied: return GRPCStatus(.permissionDenied, message)
        case .failedPrecondition: return GRPCStatus(.failedPrecondition, message)
        case .invalidArgument: return GRPCStatus(.invalidArgument, message)
        case .resourceExhausted: return GRPCStatus(.resourceExhausted, message)
        }
    }
}

extension WalletError {
    /// SPEC §3's statuses for what the wallet core could not answer with a decision.
    var status: GRPCStatus {
        switch self {
        case .duplicateRequestDifferentBody, .requestIDExpired, .alreadyExists:
            return GRPCStatus(.alreadyExists, description)
        case .requestInFlight: return GRPCStatus(.aborted, description)
        case .rejected(let rejection): return rejection.status
        case .notFound: return GRPCStatus(.notFound, description)
        case .failedPrecondition: return GRPCStatus(.failedPrecondition, description)
        case .outOfRange: return GRPCStatus(.outOfRange, description)
        case .invalidArgument: return GRPCStatus(.invalidArgument, description)
        // The bank gets a plain message; what SQLite said is in the log (`storeStatus`).
        case .overloaded: return GRPCStatus(.unavailable, "the gateway is busy; retry")
        case .storeUnavailable: return GRPCStatus(.unavailable, "the wallet store is unavailable; retry")
        case .invariantViolated: return GRPCStatus(.internal, "internal error")
        }
    }
}
