import GatewayRPC
import GatewayWire
import WalletCore

// §9 reversals and compensation, and the wallet's spending, on the Admin service. ReverseCharge and
// PayCompensation are four-eyes requests (§8): they create an Approval, and a *different* operator's Approve
// executes them in the transaction that approves. ListApprovals / Approve / Decline here cover these two kinds
// until the desk's generic approvals land (then its Approve calls the same WalletCore operations).
extension AdminService {
    func registerReversalsAndCompensation(_ services: inout RPCServices) {
        register(&services, AdminMethods.reverseCharge) { [store] request, actor in
            Approval(try await store.requestReversal(
                chargeID: request.chargeID, amountYen: request.amountYen, keepChargesOpen: request.keepChargesOpen,
                audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&services, AdminMethods.payCompensation) { [store] request, actor in
            Approval(try await store.requestCompensationPayment(
                caseID: request.caseID, audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&services, AdminMethods.listApprovals) { [store] request, _ in
            ListApprovalsResponse(approvals: try await store.approvals(includeDecided: request.includeDecided)
                .map(Approval.init))
        }
        register(&services, AdminMethods.approve) { [store] request, actor in
            Approval(try await store.approve(
                approvalID: request.approvalID, audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&services, AdminMethods.decline) { [store] request, actor in
            Approval(try await store.decline(
                approvalID: request.approvalID, audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&services, AdminMethods.openCompensationCase) { [store] request, actor in
            CompensationCase(try await store.openCompensationCase(
                bankCode: request.bankCode, bankAccountToken: request.bankAccountToken, chargeIDs: request.chargeIDs,
                audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&services, AdminMethods.closeCompensationCase) { [store] request, actor in
            CompensationCase(try await store.closeCompensationCase(
                caseID: request.caseID, audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&services, AdminMethods.listCompensationCases) { [store] _, _ in
            ListCompensationCasesResponse(cases: try await store.compensationCases().map(CompensationCase.init))
        }
        register(&services, AdminMethods.registerMerchant) { [store] request, actor in
            try await store.registerMerchant(
                id: request.merchantID, name: request.name, audit: AuditContext(actor: actor, reason: request.reason))
            let merchant = try await store.merchantBalanceYen(id: request.merchantID)
            return Merchant(merchantID: request.merchantID, name: merchant?.name ?? request.name,
                            balanceYen: merchant?.balanceYen ?? 0)
        }
        register(&services, AdminMethods.payFromWallet) { [store] request, actor in
            WalletPayment(try await store.payFromWallet(
                walletID: request.walletAccountID, merchantID: request.merchantID, amountYen: request.amountYen,
                reference: request.reference, audit: AuditContext(actor: actor, reason: request.reason)))
        }
    }
}

extension Approval {
    init(_ record: ApprovalRecord) {
        self.init(
            approvalID: record.approvalID, kind: record.kind.rawValue, summary: record.summary, reason: record.reason,
            requestedBy: record.requestedBy, requestedAtUnixMs: record.requestedAtUnixMs,
            expiresAtUnixMs: record.expiresAtUnixMs, state: record.state, decidedBy: record.decidedBy ?? "",
            decidedAtUnixMs: record.decidedAtUnixMs ?? 0, decisionReason: record.decisionReason ?? "",
            result: record.result ?? "")
    }
}

extension Reversal {
    init(_ record: ChargeReversalRecord) {
        self.init(
            reversalID: record.reversalID, chargeID: record.chargeID, amountYen: record.amountYen,
            fromWalletYen: record.fromWalletYen, fromCompensationYen: record.fromCompensationYen,
            reason: record.reason, requestedBy: record.requestedBy, approvedBy: record.approvedBy,
            createdAtUnixMs: record.createdAtUnixMs, caseID: record.caseID ?? "")
    }
}

extension CompensationCase {
    init(_ record: CompensationCaseRecord) {
        self.init(
            caseID: record.caseID, bankCode: record.bankCode, bankAccountToken: record.bankAccountToken,
            state: record.state, chargeIDs: record.chargeIDs, chargedYen: record.chargedYen,
            reversedFromWalletsYen: record.reversedFromWalletsYen,
            paidFromCompensationYen: record.paidFromCompensationYen, reason: record.reason,
            openedBy: record.openedBy, openedAtUnixMs: record.openedAtUnixMs, paidAtUnixMs: record.paidAtUnixMs ?? 0,
            closedAtUnixMs: record.closedAtUnixMs ?? 0, reversals: record.reversals.map(Reversal.init))
    }
}

extension WalletPayment {
    init(_ record: WalletPaymentRecord) {
        self.init(
            paymentID: record.paymentID, walletAccountID: record.walletID, merchantID: record.merchantID,
            amountYen: record.amountYen, walletBalanceYen: record.walletBalanceYen, paidAtUnixMs: record.paidAtUnixMs)
    }
}
