import Foundation
import GatewayCrypto
import GatewayPolicy
import GatewayRPC
import GatewayService
import GatewayTLS
import GatewayWire
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import WalletCore

/// The monitoring console (SPEC §1 port 8444, §8): HTTPS on the project's TLS stage with operator certificates
/// only, served by Hummingbird 2 with swift-mustache pages. GET never changes state; every POST carries the
/// operator's CSRF token and a same-origin `Origin`, and is the Admin operation of the same name (in-process,
/// audited with the operator of the certificate).
public final class ConsoleServer: Service, @unchecked Sendable {
    public let host: String
    public let port: Int
    private let tls: TLSServerContext
    private let admin: AdminService
    private let store: WalletStore
    private let logger: Logger
    private let onTLSRefusal: (@Sendable (String) -> Void)?
    private let csrfKey: KeyedHash.Key
    private let pages: ConsolePages
    /// Told the bound port once listening (0 asks for an ephemeral one).
    public var onReady: @Sendable (Int) -> Void = { _ in }

    /// `tls`: a server context whose configuration's `applicationProtocol` is `.http1`.
    public init(
        host: String, port: Int, tls: TLSServerContext, admin: AdminService, store: WalletStore, logger: Logger,
        onTLSRefusal: (@Sendable (String) -> Void)? = nil
    ) throws {
        precondition(tls.configuration.applicationProtocol == .http1, "the console speaks HTTP/1.1 over TLS")
        self.host = host
        self.port = port
        self.tls = tls
        self.admin = admin
        self.store = store
        self.logger = logger
        self.onTLSRefusal = onTLSRefusal
        self.csrfKey = KeyedHash.Key(SecureRandom.bytes(32))
        self.pages = try ConsolePages()
    }

    public func run() async throws {
        let router = Router(context: ConsoleContext.self)
        routes(router)
        let tls = self.tls
        let refusals = self.onTLSRefusal
        let onReady = self.onReady
        let app = Application(
            router: router,
            server: HTTPServerBuilder { responder in
                ConsoleTLSChannel(
                    base: HTTP1Channel(responder: responder), tls: tls, peers: ConsolePeers.shared,
                    onTLSRefusal: refusals)
            },
            configuration: .init(address: .hostname(host, port: port), serverName: "bankgw-console"),
            onServerRunning: { channel in onReady(channel.localAddress?.port ?? -1) },
            logger: logger)
        try await app.runService()
    }

    // MARK: Routes

    private func routes(_ router: Router<ConsoleContext>) {
        router.get("/") { request, context in try await self.page(request, context, "overview", self.overview) }
        router.get("/alerts") { request, context in
            try await self.page(request, context, "alerts") { request, context in
                var data = try await self.alertsData(request, context)
                data["query"] = request.uri.query ?? ""
                return data
            }
        }
        router.get("/alerts/rows") { request, context in
            try self.requireOperator(context)
            let data = try await self.alertsData(request, context)
            return self.html(self.pages.render("alert_rows", data))
        }
        router.get("/holds") { request, context in try await self.page(request, context, "holds", self.holdsData) }
        router.get("/approvals") { request, context in
            try await self.page(request, context, "approvals", self.approvalsData)
        }
        router.get("/banks/{id}") { request, context in
            try await self.page(request, context, "bank", self.bankData)
        }
        router.get("/wallets") { request, _ in
            let id = request.uri.queryParameters.get("id") ?? ""
            return Response(status: .seeOther, headers: [.location: "/wallets/\(Self.pathSafe(id))"])
        }
        router.get("/wallets/{id}") { request, context in
            try await self.page(request, context, "wallet", self.walletData)
        }

        action(router, "/alerts/{id}/ack") { form, id, actor in
            var request = AcknowledgeAlertRequest()
            request.alertID = id
            request.note = form["note"] ?? ""
            let alert: Alert = try await self.admin.perform("AcknowledgeAlert", request, actor: actor)
            return "alert \(alert.alertID) acknowledged"
        }
        action(router, "/alerts/{id}/resolve") { form, id, actor in
            var request = ResolveAlertRequest()
            request.alertID = id
            request.note = form["note"] ?? ""
            let alert: Alert = try await self.admin.perform("ResolveAlert", request, actor: actor)
            return "alert \(alert.alertID) resolved"
        }
        action(router, "/alerts/{id}/confirm-suspension") { form, id, actor in
            var request = ConfirmSuspensionRequest()
            request.alertID = id
            request.reason = form["reason"] ?? ""
            let bank: AdminBank = try await self.admin.perform("ConfirmSuspension", request, actor: actor)
            return "bank \(bank.bankCode) suspended for link and charge"
        }
        action(router, "/holds/{id}/release") { form, id, actor in
            let hold: AdminHold = try await self.admin.perform(
                "ReleaseHold", ReleaseHoldRequest(chargeID: id, reason: form["reason"] ?? ""), actor: actor)
            return hold.state == .released
                ? "hold \(id) released: \(hold.amountYen) yen credited"
                : "hold \(id): release of \(hold.amountYen) yen waits for a second operator (Approvals)"
        }
        action(router, "/holds/{id}/reject") { form, id, actor in
            let _: AdminHold = try await self.admin.perform(
                "RejectHold", RejectHoldRequest(chargeID: id, reason: form["reason"] ?? ""), actor: actor)
            return "hold \(id) rejected"
        }
        action(router, "/approvals/{id}/approve") { form, id, actor in
            var request = ApproveRequest()
            request.approvalID = id
            request.reason = form["reason"] ?? ""
            let approval: Approval = try await self.admin.perform("Approve", request, actor: actor)
            return "approved: \(approval.result)"
        }
        action(router, "/approvals/{id}/decline") { form, id, actor in
            var request = DeclineRequest()
            request.approvalID = id
            request.reason = form["reason"] ?? ""
            let _: Approval = try await self.admin.perform("Decline", request, actor: actor)
            return "approval \(id) declined"
        }
        action(router, "/banks/{id}/state") { form, id, actor in
            let operation: GatewayWire.Operation = form["operation"] == "link" ? .link : .charge
            let state: BankState =
                ["PENDING": .pending, "PILOT": .pilot, "ENABLED": .enabled, "SUSPENDED": .suspended][
                    form["state"] ?? ""] ?? .unspecified
            let bank: AdminBank = try await self.admin.perform(
                "SetBankState",
                SetBankStateRequest(bankCode: id, operation: operation, state: state, reason: form["reason"] ?? ""),
                actor: actor)
            let now = operation == .link ? bank.linkState : bank.chargeState
            return now == state
                ? "bank \(id) \(operation == .link ? "link" : "charge") is \(Self.name(state))"
                : "bank \(id): \(Self.name(state)) waits for a second operator (Approvals)"
        }
        for (path, method, done) in [
            ("freeze", "FreezeCharges", "charges frozen"), ("unfreeze", "UnfreezeCharges", "charges unfrozen"),
            ("unlock", "UnlockLinking", "linking unlocked"),
        ] {
            action(router, "/wallets/{id}/\(path)") { form, id, actor in
                let _: AdminWallet = try await self.admin.perform(
                    method, WalletActionRequest(walletAccountID: id, reason: form["reason"] ?? ""), actor: actor)
                return "wallet \(id): \(done)"
            }
        }
    }

    /// A POST action: operator, same-origin `Origin`, CSRF token, then the Admin operation; answers 303 back to
    /// the page it came from with what happened (or why it was refused).
    private func action(
        _ router: Router<ConsoleContext>, _ path: String,
        _ act: @escaping @Sendable (_ form: [String: String], _ id: String, _ actor: String) async throws -> String
    ) {
        router.post(RouterPath(path)) { request, context in
            let name = try self.requireOperator(context)
            guard Self.sameOrigin(request) else {
                throw HTTPError(.forbidden, message: "cross-site request refused (Origin does not match this console)")
            }
            let body = try await request.body.collect(upTo: 64 * 1024)
            let form = Self.parseForm(String(buffer: body))
            guard let token = form["csrf"], Self.constantTimeEqual(token, self.csrfToken(for: name)) else {
                throw HTTPError(.forbidden, message: "missing or wrong CSRF token")
            }
            let back = Self.safeBack(form["back"])
            let id = context.parameters.get("id") ?? ""
            do {
                let message = try await act(form, id, "operator/\(name)")
                return Self.redirect(back, "msg", message)
            } catch let status as GRPCStatus {
                return Self.redirect(back, "error", status.description)
            } catch {
                return Self.redirect(back, "error", "\(error)")
            }
        }
    }

    // MARK: Pages

    private func page(
        _ request: Request, _ context: ConsoleContext, _ name: String,
        _ data: @escaping (Request, ConsoleContext) async throws -> [String: Any]
    ) async throws -> Response {
        let operatorName = try requireOperator(context)
        var values = try await data(request, context)
        values["operator"] = "operator/\(operatorName)"
        values["csrf"] = csrfToken(for: operatorName)
        values["back"] = request.uri.path
        values["msg"] = request.uri.queryParameters.get("msg").map { String($0) }
        values["error"] = request.uri.queryParameters.get("error").map { String($0) }
        values["nav_\(name)"] = true
        let body = pages.render(name, values)
        values["body"] = body
        return html(pages.render("layout", values))
    }

    private func overview(_ request: Request, _ context: ConsoleContext) async throws -> [String: Any] {
        let now = WalletStore.systemClock()
        let buckets = try await store.decisionBuckets(sinceUnixMs: now - 3_600_000)
        let alerts = try await store.alerts()
        let banks = try await store.banks().map { bank -> [String: Any] in
            let mine = buckets.filter { $0.bankCode == bank.facts.code }
            let chart = ConsoleChart.svg(bankCode: bank.facts.code, buckets: mine, nowUnixMs: now)
            let open = alerts.filter { $0.bankCode == bank.facts.code }
            return [
                "code": bank.facts.code, "name": bank.name, "link": Self.name(bank.facts.linkState),
                "charge": Self.name(bank.facts.chargeState), "chart": chart.svg,
                "approved": chart.approved, "held": chart.held, "declined": chart.declined,
                "perSecond": String(format: "%.2f", Double(chart.approved + chart.held + chart.declined) / 3_600),
                "openAlerts": open.count,
            ]
        }
        return ["banks": banks, "alerts": alerts.prefix(20).map(Self.alertRow), "alertCount": alerts.count]
    }

    private func alertsData(_ request: Request, _ context: ConsoleContext) async throws -> [String: Any] {
        let query = request.uri.queryParameters
        func text(_ key: String) -> String? { query.get(key).flatMap { $0.isEmpty ? nil : String($0) } }
        let state = text("state").flatMap {
            ["OPEN": AlertState.open, "ACKNOWLEDGED": .acknowledged, "RESOLVED": .resolved][$0]
        }
        let severity = text("severity").flatMap {
            ["LOW": AlertSeverity.low, "MEDIUM": .medium, "HIGH": .high, "CRITICAL": .critical][$0]
        }
        let alerts = try await store.alerts(
            AlertFilter(
                state: state, severity: severity, rule: text("rule"), bankCode: text("bank"), walletID: text("wallet")))
        let operatorName = try requireOperator(context)
        return [
            "alerts": alerts.map(Self.alertRow), "csrf": csrfToken(for: operatorName), "back": "/alerts",
            "filter_state": text("state") ?? "", "filter_severity": text("severity") ?? "",
            "filter_rule": text("rule") ?? "", "filter_bank": text("bank") ?? "", "filter_wallet": text("wallet") ?? "",
        ]
    }

    private func holdsData(_ request: Request, _ context: ConsoleContext) async throws -> [String: Any] {
        let now = WalletStore.systemClock()
        let holds = try await store.holds().map { hold -> [String: Any] in
            [
                "id": hold.chargeID, "bank": hold.bankCode, "wallet": hold.walletID, "amount": Self.yen(hold.amountYen),
                "rule": hold.rule, "age": Self.age(now - hold.heldAtUnixMs),
                "fourEyes": FourEyes.holdReleaseNeedsApproval(amountYen: hold.amountYen, store.monitoring.thresholds),
            ]
        }
        return ["holds": holds]
    }

    private func approvalsData(_ request: Request, _ context: ConsoleContext) async throws -> [String: Any] {
        let operatorName = try requireOperator(context)
        let all = try await store.approvals(includeDecided: true, limit: 100)
        func row(_ approval: Approval) -> [String: Any] {
            [
                "id": approval.approvalID, "kind": approval.kind, "summary": approval.summary,
                "requestedBy": approval.requestedBy, "reason": approval.requestReason,
                "requestedAt": Self.time(approval.requestedAtUnixMs), "expires": Self.time(approval.expiresAtUnixMs),
                "state": Self.name(approval.state), "decidedBy": approval.decidedBy, "result": approval.result,
                "mine": approval.requestedBy == "operator/\(operatorName)",
            ]
        }
        return [
            "pending": all.filter { $0.state == .pending }.map(row),
            "decided": all.filter { $0.state != .pending }.map(row),
        ]
    }

    private func bankData(_ request: Request, _ context: ConsoleContext) async throws -> [String: Any] {
        let code = context.parameters.get("id") ?? ""
        guard let bank = try await store.bankRecord(code: code) else {
            throw HTTPError(.notFound, message: "bank \(code) not found")
        }
        let profile = bank.facts.profile
        let proposals = try await store.alerts(AlertFilter(rule: "bank.decline_burst", bankCode: code))
            .filter { !$0.proposedAction.isEmpty && !$0.proposalConfirmed }
        let runs = try await store.conformanceRuns(bankCode: code).map { run -> [String: Any] in
            [
                "passed": run.passed ? "passed" : "failed", "at": Self.time(run.ranAtUnixMs), "detail": run.detail,
                "by": run.recordedBy,
            ]
        }
        let audit = try await store.auditEntries(subject: code, limit: 30).reversed().map { entry -> [String: Any] in
            [
                "at": Self.time(entry.atUnixMs), "actor": entry.actor, "action": entry.action, "reason": entry.reason,
                "detail": entry.detail,
            ]
        }
        return [
            "code": code, "name": bank.name, "link": Self.name(bank.facts.linkState),
            "charge": Self.name(bank.facts.chargeState),
            "pilot": bank.facts.pilotWalletIDs.sorted().joined(separator: ", "),
            "profile": [
                ["key": "per charge", "value": Self.yen(profile.maxChargeYen)],
                ["key": "per wallet per day", "value": Self.yen(profile.maxDailyYenPerWallet)],
                ["key": "per wallet per month", "value": Self.yen(profile.maxMonthlyYenPerWallet)],
                ["key": "new-link limit", "value": Self.yen(profile.newLinkMaxChargeYen)],
                ["key": "new-link caution", "value": Self.age(profile.newLinkCautionMs)],
                ["key": "customer auth on charge", "value": profile.chargeRequiresCustomerAuth ? "required" : "no"],
                ["key": "rate limit", "value": "\(profile.maxRequestsPerSecond) req/s"],
            ],
            "proposals": proposals.map(Self.alertRow), "runs": runs, "audit": Array(audit),
        ]
    }

    private func walletData(_ request: Request, _ context: ConsoleContext) async throws -> [String: Any] {
        let id = context.parameters.get("id") ?? ""
        guard let wallet = try await store.walletRecord(id: id) else {
            throw HTTPError(.notFound, message: "wallet \(id) not found")
        }
        let facts = wallet.facts
        let links = try await store.links(walletID: id).map { link -> [String: Any] in
            [
                "id": link.id, "bank": link.bankCode, "active": link.active ? "active" : "unlinked",
                "at": Self.time(link.linkedAtUnixMs),
            ]
        }
        let charges = try await store.recentCharges(walletID: id).map { charge -> [String: Any] in
            [
                "id": charge.id, "bank": charge.bankCode, "amount": Self.yen(charge.amountYen),
                "decision": ["-", "APPROVED", "HELD", "DECLINED"][Int(charge.decision.rawValue)], "rule": charge.rule,
                "at": Self.time(charge.atUnixMs),
            ]
        }
        return [
            "id": id, "test": facts.isTest, "ekyc": "\(facts.ekycStatus)", "method": "\(facts.ekycMethod)",
            "nameKana": facts.ekycNameKana, "phone": facts.phoneVerified ? "verified" : "not verified",
            "linkLocked": facts.linkLocked, "frozen": facts.chargeFrozen, "balance": Self.yen(facts.balanceYen),
            "cap": Self.yen(facts.balanceCapYen), "links": links, "charges": charges,
        ]
    }

    // MARK: Helpers

    @discardableResult
    private func requireOperator(_ context: ConsoleContext) throws -> String {
        // The gate admits only operator connections; this is the belt to its braces.
        guard let name = context.operatorName else {
            throw HTTPError(.forbidden, message: "an operator client certificate is required")
        }
        return name
    }

    func csrfToken(for operatorName: String) -> String {
        AuditChain.hex(csrfKey.sha256("csrf:\(operatorName)"))
    }

    private func html(_ text: String) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: "default-src 'self'; script-src 'unsafe-inline' 'self'; "
                    + "style-src 'unsafe-inline'; frame-ancestors 'none'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The POST's `Origin` names this console (scheme https, the Host it was sent to). A request without one is
    /// refused: every browser sends it on a POST.
    static func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin], let host = request.head.authority else { return false }
        return origin == "https://\(host)"
    }

    static func parseForm(_ body: String) -> [String: String] {
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if let key = parts.first, form[key] == nil { form[key] = parts.count > 1 ? parts[1] : "" }
        }
        return form
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func safeBack(_ back: String?) -> String {
        guard let back, back.hasPrefix("/"), !back.hasPrefix("//"), !back.contains("\\"),
            back.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { return "/" }
        return back
    }

    static func redirect(_ back: String, _ key: String, _ message: String) -> Response {
        let query = message.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return Response(status: .seeOther, headers: [.location: "\(back)?\(key)=\(query)"])
    }

    static func pathSafe(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    static func alertRow(_ alert: Alert) -> [String: Any] {
        [
            "id": alert.alertID, "rule": alert.rule, "severity": name(alert.severity),
            "severityClass": name(alert.severity).lowercased(), "state": name(alert.state), "subject": alert.subject,
            "bank": alert.bankCode, "wallet": alert.walletAccountID, "count": alert.count,
            "first": time(alert.firstSeenUnixMs), "last": time(alert.lastSeenUnixMs), "assignee": alert.assignee,
            "detail": alert.detail, "holds": alert.holdIDs.joined(separator: " "), "hasHolds": !alert.holdIDs.isEmpty,
            "proposal": alert.proposedAction,
            "resolved": alert.state == .resolved, "open": alert.state == .open,
            "notes": alert.notes.map { ["at": time($0.atUnixMs), "by": $0.operatorName, "text": $0.text] },
        ]
    }

    static func name(_ state: BankState) -> String {
        ["UNSPECIFIED", "PENDING", "PILOT", "ENABLED", "SUSPENDED"][Int(state.rawValue)]
    }
    static func name(_ severity: AlertSeverity) -> String {
        ["UNSPECIFIED", "LOW", "MEDIUM", "HIGH", "CRITICAL"][Int(severity.rawValue)]
    }
    static func name(_ state: AlertState) -> String {
        ["UNSPECIFIED", "OPEN", "ACKNOWLEDGED", "RESOLVED"][Int(state.rawValue)]
    }
    static func name(_ state: ApprovalState) -> String {
        ["UNSPECIFIED", "PENDING", "APPROVED", "DECLINED", "LAPSED"][Int(state.rawValue)]
    }

    static func yen(_ amount: Int64) -> String {
        let digits = String(amount.magnitude)
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (amount < 0 ? "-" : "") + out + " 円"
    }

    static func age(_ ms: Int64) -> String {
        let minutes = ms / 60_000
        if minutes < 1 { return "\(ms / 1_000) s" }
        if minutes < 120 { return "\(minutes) min" }
        return "\(minutes / 60) h \(minutes % 60) min"
    }

    static func time(_ unixMs: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(unixMs) / 1_000))
    }
}

/// The request context: who is calling, from the connection's verified certificate.
struct ConsoleContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// NAME of `spiffe://bankgw.partners/operator/NAME`; nil if the connection was not admitted (never served).
    let operatorName: String?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.operatorName = ConsolePeers.shared.operatorName(of: source.channel)
    }
}

extension ConsolePeers {
    static let shared = ConsolePeers()
}
