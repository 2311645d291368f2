import GatewayPolicy
import GatewayRPC
import GatewayTLS
import GatewayWire
import WalletCore

// SPEC §8 on the Admin service: alerts (list, watch, acknowledge, resolve, confirm a proposed suspension), block
// lists and four-eyes approvals. Every act is the wallet core's, audited with the operator in its transaction.
extension AdminService {
    func registerMonitoring(_ registry: inout AdminRegistry) {
        let store = self.store
        let receipts = self.receipts
        register(&registry, AdminMethods.listAlerts) { request, _ in
            var response = ListAlertsResponse()
            response.alerts = try await store.alerts(
                AlertFilter(
                    state: request.state == .unspecified ? nil : request.state,
                    severity: request.severity == .unspecified ? nil : request.severity,
                    rule: request.rule.isEmpty ? nil : request.rule,
                    bankCode: request.bankCode.isEmpty ? nil : request.bankCode,
                    walletID: request.walletAccountID.isEmpty ? nil : request.walletAccountID))
            return response
        }
        register(&registry, AdminMethods.acknowledgeAlert) { request, actor in
            try await store.acknowledgeAlert(
                id: request.alertID, assignee: request.assignee, note: request.note,
                audit: AuditContext(actor: actor, reason: request.note.isEmpty ? "acknowledged" : request.note))
        }
        register(&registry, AdminMethods.resolveAlert) { request, actor in
            try await store.resolveAlert(
                id: request.alertID, note: request.note, audit: AuditContext(actor: actor, reason: request.note))
        }
        register(&registry, AdminMethods.confirmSuspension) { request, actor in
            let code = try await store.confirmSuspension(
                alertID: request.alertID, audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.bank(store, code)
        }
        register(&registry, AdminMethods.listBlocked) { request, _ in
            var response = ListBlockedResponse()
            response.entries = try await store.blocked(kind: request.kind == .unspecified ? nil : request.kind)
            return response
        }
        register(&registry, AdminMethods.block) { request, actor in
            try await store.block(
                kind: request.kind, value: request.value, bankCode: request.bankCode.isEmpty ? nil : request.bankCode,
                audit: AuditContext(actor: actor, reason: request.reason))
        }
        register(&registry, AdminMethods.unblock) { request, actor in
            try await store.unblock(
                kind: request.kind, value: request.value, bankCode: request.bankCode.isEmpty ? nil : request.bankCode,
                audit: AuditContext(actor: actor, reason: request.reason))
        }
        register(&registry, AdminMethods.listApprovals) { request, _ in
            var response = ListApprovalsResponse()
            response.approvals = try await store.approvals(includeDecided: request.includeDecided)
            return response
        }
        register(&registry, AdminMethods.approve) { request, actor in
            let approval = try await store.decideApproval(
                id: request.approvalID, approve: true, audit: AuditContext(actor: actor, reason: request.reason),
                sign: { receipts.seal($0) })
            if approval.state == .lapsed {
                throw GRPCStatus(
                    .failedPrecondition,
                    "approval \(request.approvalID) lapsed (nobody approved within the lapse time): nothing done")
            }
            return approval
        }
        register(&registry, AdminMethods.decline) { request, actor in
            try await store.decideApproval(
                id: request.approvalID, approve: false, audit: AuditContext(actor: actor, reason: request.reason),
                sign: { receipts.seal($0) })
        }
        register(&registry, AdminMethods.freezeCharges) { request, actor in
            try await store.freezeCharges(
                walletID: request.walletAccountID, audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.wallet(store, request.walletAccountID)
        }
        registry.services.register(
            AdminMethods.watchAlerts,
            .serverStreaming {
                request, responses, context in
                _ = try Self.operatorActor(context)
                _ = try MessageCoding.decode(WatchAlertsRequest.self, from: request)
                try await Self.watchAlerts(store, responses, context)
            })
    }

    /// WatchAlerts: the unresolved alerts, then every change (any alert, any state) in change order, live. The
    /// stream subscribes before it reads, so a change committed in between is sent, never lost.
    static func watchAlerts(
        _ store: WalletStore, _ responses: RPCResponseStream, _ context: RPCCallContext
    ) async throws {
        guard let subscription = store.alertFeed.subscribe() else {
            throw GRPCStatus(.resourceExhausted, "too many WatchAlerts streams (\(AlertFeed.maxSubscribers))")
        }
        defer { store.alertFeed.unsubscribe(subscription.id) }
        do {
            var sequence = try await store.alertSequence()
            for alert in try await store.alerts().reversed() {
                try await responses.send(try MessageCoding.encode(alert, context: context, capacityHint: 512))
            }
            for await _ in subscription.changes {
                while true {
                    let changed = try await store.alertChanges(afterSequence: sequence)
                    for alert in changed {
                        try await responses.send(try MessageCoding.encode(alert, context: context, capacityHint: 512))
                        sequence = max(sequence, alert.changeSequence)
                    }
                    if changed.count < 500 { break }
                }
            }
        } catch let error as WalletError {
            throw error.status
        }
    }

    /// "operator/NAME" for an operator certificate; PERMISSION_DENIED otherwise.
    static func operatorActor(_ context: RPCCallContext) throws(GRPCStatus) -> String {
        switch context.peer {
        case .operatorName(let name)?: return "operator/\(name)"
        case .bank(let code)?: throw RequestChecks.adminService(caller: .bank(code: code))!.status
        case nil: throw GRPCStatus(.permissionDenied, "an operator client certificate is required")
        }
    }
}
