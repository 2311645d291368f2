import GatewayRPC
import GatewayWire
import WalletCore

// §9 reversals and compensation, and the wallet's spending, on the Admin service. ReverseCharge and
// PayCompensation are four-eyes requests (§8): they create an approval of kind charge.reverse / compensation.pay
// (AdminService+Monitoring's ListApprovals / Approve / Decline), and a *different* operator's Approve executes it
// in the transaction that approves.
extension AdminService {
    func registerReversalsAndCompensation(_ registry: inout AdminRegistry) {
        register(&registry, AdminMethods.reverseCharge) { [store] request, actor in
            try await store.requestReversal(
                chargeID: request.chargeID, amountYen: request.amountYen, keepChargesOpen: request.keepChargesOpen,
                lapseMs: store.monitoring.thresholds.approvalLapseMs,
                audit: AuditContext(actor: actor, reason: request.reason))
        }
        register(&registry, AdminMethods.payCompensation) { [store] request, actor in
            try await store.requestCompensationPayment(
                caseID: request.caseID, lapseMs: store.monitoring.thresholds.approvalLapseMs,
                audit: AuditContext(actor: actor, reason: request.reason))
        }
        register(&registry, AdminMethods.openCompensationCase) { [store] request, actor in
            CompensationCase(
                try await store.openCompensationCase(
                    bankCode: request.bankCode, bankAccountToken: request.bankAccountToken,
                    chargeIDs: request.chargeIDs,
                    audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&registry, AdminMethods.closeCompensationCase) { [store] request, actor in
            CompensationCase(
                try await store.closeCompensationCase(
                    caseID: request.caseID, audit: AuditContext(actor: actor, reason: request.reason)))
        }
        register(&registry, AdminMethods.listCompensationCases) { [store] _, _ in
            ListCompensationCasesResponse(cases: try await store.compensationCases().map(CompensationCase.init))
        }
        register(&registry, AdminMethods.registerMerchant) { [store] request, actor in
            try await store.registerMerchant(
                id: request.merchantID, name: request.name, audit: AuditContext(actor: actor, reason: request.reason))
            let merchant = try await store.merchantBalanceYen(id: request.merchantID)
            return Merchant(
                merchantID: request.merchantID, name: merchant?.name ?? request.name,
                balanceYen: merchant?.balanceYen ?? 0)
        }
        register(&registry, AdminMethods.payFromWallet) { [store] request, actor in
            WalletPayment(
                try await store.payFromWallet(
                    walletID: request.walletAccountID, merchantID: request.merchantID, amountYen: request.amountYen,
                    reference: request.reference, audit: AuditContext(actor: actor, reason: request.reason)))
        }
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
