import GatewayCrypto
import GatewayPolicy
import GatewayRPC
import GatewayTLS
import GatewayWire
import Logging
import WalletCore

/// `bankgw.admin.v1.Admin`: the operator's surface, for operator certificates only (a bank certificate is
/// PERMISSION_DENIED). Every act is written through the wallet core's writer with the operator's identity and
/// reason, which it audits in the same transaction.
public final class AdminService: Sendable {
    public static let serviceName = AdminMethods.serviceName

    let store: WalletStore
    let receipts: ReceiptSigner
    private let directory: BankDirectory?
    /// What RecordConformance checks a run against (SPEC §4); it must also be the TLS listener's request observer.
    private let witness: ConformanceWitness
    private let clock: @Sendable () -> Int64
    private let logger: Logger

    /// `directory`: the request path's in-memory view of the banks (rates, pins), refreshed after every profile
    /// change; share it with `BankGatewayService` and the TLS stage.
    public init(
        store: WalletStore, receipts: ReceiptSigner, directory: BankDirectory? = nil,
        witness: ConformanceWitness = ConformanceWitness(),
        clock: @escaping @Sendable () -> Int64 = WalletStore.systemClock, logger: Logger = Logger(label: "bankgw.admin")
    ) {
        self.store = store
        self.receipts = receipts
        self.directory = directory
        self.witness = witness
        self.clock = clock
        self.logger = logger
    }

    public var services: RPCServices { registry.services }

    /// Runs the Admin operation `method` in-process as `actor` ("operator/NAME"): the same validation, act and
    /// audit as the RPC (the console's actions go through here).
    public func perform<Request: WireMessage, Response: WireMessage>(
        _ method: String, _ request: Request, actor: String, returning: Response.Type = Response.self
    ) async throws -> Response {
        guard let operation = registry.operations[method] else {
            throw GRPCStatus(.unimplemented, "no Admin operation \(method)")
        }
        do {
            try request.validate()
        } catch {
            throw GRPCStatus(.invalidArgument, "\(error)")
        }
        let response: any Sendable
        do {
            response = try await operation(request, actor)
        } catch let error as WalletError {
            throw error.status
        }
        guard let typed = response as? Response else {
            throw GRPCStatus(.internal, "Admin \(method) answered \(type(of: response)), not \(Response.self)")
        }
        return typed
    }

    private var registry: AdminRegistry {
        var services = AdminRegistry()
        register(&services, AdminMethods.listBanks) { [store] _, _ in
            ListBanksResponse(banks: try await store.banks().map(AdminBank.init))
        }
        register(&services, AdminMethods.getBank) { [store] request, _ in
            try await Self.bank(store, request.bankCode)
        }
        register(&services, AdminMethods.setBankState) { [store] request, actor in
            if FourEyes.bankStateNeedsApproval(request.state) {
                // SPEC §8 four eyes: recorded; a second operator's Approve makes it happen.
                let operation = request.operation == .link ? "link" : "charge"
                try await store.checkBankStateChange(code: request.bankCode, to: request.state, reason: request.reason)
                _ = try await store.requestApproval(
                    kind: .bankEnable, subject: "\(request.bankCode)/\(operation)",
                    summary: "bank \(request.bankCode) \(operation) → ENABLED",
                    payload: ["bank_code": request.bankCode, "operation": operation],
                    lapseMs: store.monitoring.thresholds.approvalLapseMs,
                    audit: AuditContext(actor: actor, reason: request.reason))
                return try await Self.bank(store, request.bankCode)
            }
            try await store.setBankState(
                code: request.bankCode, operation: request.operation, state: request.state,
                audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.bank(store, request.bankCode)
        }
        register(&services, AdminMethods.setBankProfile) { [store, directory] request, actor in
            let profile = BankProfile(request.profile!)
            if let problem = profile.validationProblems.first {
                throw GRPCStatus(.invalidArgument, "profile: \(problem)")
            }
            try await store.setBankProfile(
                code: request.bankCode, profile: profile,
                audit: AuditContext(actor: actor, reason: request.reason))
            try await directory?.reload(from: store)
            return try await Self.bank(store, request.bankCode)
        }
        register(&services, AdminMethods.setPilotList) { [store] request, actor in
            try await store.setPilotList(
                code: request.bankCode, walletIDs: Set(request.walletAccountIDs),
                audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.bank(store, request.bankCode)
        }
        register(&services, AdminMethods.recordConformance) { [store, clock, witness] request, actor in
            // The gateway stamps who recorded it and when; the suite's own claims are kept in the detail.
            var record = request.record!
            try witness.verify(record)
            record.operatorName = actor
            record.recordedAtUnixMs = clock()
            let detail =
                "report_sha256=\(record.reportSHA256Hex) passed=\(record.casesPassed) "
                + "failed=\(record.casesFailed) bank_identity=\(record.bankIdentity)"
                + (record.failedCases.isEmpty ? "" : " failed_cases=\(record.failedCases.joined(separator: ","))")
            try await store.recordConformance(
                code: record.bankCode, passed: record.passed && record.casesFailed == 0,
                ranAtUnixMs: record.recordedAtUnixMs, detail: detail,
                audit: AuditContext(actor: actor, reason: "conformance run \(record.passed ? "passed" : "failed")"))
            return record
        }
        register(&services, AdminMethods.registerWallet) { [store] request, actor in
            guard !request.walletAccountID.isEmpty else {
                throw GRPCStatus(.invalidArgument, "wallet_account_id: required (W followed by 7 digits)")
            }
            try await store.registerWallet(
                id: request.walletAccountID, isTest: request.test,
                audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.wallet(store, request.walletAccountID)
        }
        register(&services, AdminMethods.getWallet) { [store] request, _ in
            try await Self.wallet(store, request.walletAccountID)
        }
        register(&services, AdminMethods.recordEkyc) { [store] request, actor in
            try await store.recordEkyc(
                walletID: request.walletAccountID, status: request.status, method: request.method,
                nameKana: request.nameKana, audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.wallet(store, request.walletAccountID)
        }
        register(&services, AdminMethods.markPhoneVerified) { [store] request, actor in
            try await store.markPhoneVerified(
                walletID: request.walletAccountID, audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.wallet(store, request.walletAccountID)
        }
        register(&services, AdminMethods.issueLinkCode) { [store, clock] request, actor in
            let code = LinkCode.generate()
            let expires = clock() + LinkRules.linkCodeLifetimeMs
            try await store.issueLinkCode(
                walletID: request.walletAccountID, codeMAC: store.linkCodeMAC(of: code), expiresAtUnixMs: expires,
                audit: AuditContext(actor: actor, reason: "link code issued"))
            return IssueLinkCodeResponse(linkCode: code, expiresAtUnixMs: expires)
        }
        register(&services, AdminMethods.unlockLinking) { [store] request, actor in
            try await store.unlockLinking(
                walletID: request.walletAccountID, audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.wallet(store, request.walletAccountID)
        }
        register(&services, AdminMethods.unfreezeCharges) { [store] request, actor in
            try await store.unfreezeCharges(
                walletID: request.walletAccountID, audit: AuditContext(actor: actor, reason: request.reason))
            return try await Self.wallet(store, request.walletAccountID)
        }
        register(&services, AdminMethods.listHolds) { [store] request, _ in
            ListHoldsResponse(
                holds: try await store.holds(state: request.includeResolved ? nil : .open).map(AdminHold.init))
        }
        register(&services, AdminMethods.releaseHold) { [store, receipts] request, actor in
            if let hold = try await store.hold(chargeID: request.chargeID), hold.state == .open,
                FourEyes.holdReleaseNeedsApproval(amountYen: hold.amountYen, store.monitoring.thresholds)
            {
                // SPEC §8 four eyes: the hold stays OPEN until a second operator approves the release.
                _ = try await store.requestApproval(
                    kind: .holdRelease, subject: hold.chargeID,
                    summary: "release \(hold.amountYen) yen to \(hold.walletID) (bank \(hold.bankCode), \(hold.rule))",
                    payload: ["charge_id": hold.chargeID], lapseMs: store.monitoring.thresholds.approvalLapseMs,
                    audit: AuditContext(actor: actor, reason: request.reason))
                return AdminHold(hold)
            }
            return AdminHold(
                try await store.releaseHold(
                    chargeID: request.chargeID, audit: AuditContext(actor: actor, reason: request.reason),
                    sign: { receipts.seal($0) }))
        }
        register(&services, AdminMethods.rejectHold) { [store, receipts] request, actor in
            AdminHold(
                try await store.rejectHold(
                    chargeID: request.chargeID, audit: AuditContext(actor: actor, reason: request.reason),
                    sign: { receipts.seal($0) }))
        }
        registerMonitoring(&services)
        registerReversalsAndCompensation(&services)
        return services
    }

    /// Registers one Admin method: operator-only check, decode, the act (with "operator/NAME" as the actor),
    /// errors mapped to SPEC §3 statuses, encode.
    func register<Request: WireMessage, Response: WireMessage>(
        _ registry: inout AdminRegistry, _ method: WireMethod<Request, Response>,
        _ act: @escaping @Sendable (Request, _ actor: String) async throws -> Response
    ) {
        registry.operations[method.name] = { request, actor in
            guard let typed = request as? Request else {
                throw GRPCStatus(.internal, "Admin \(method.name) takes \(Request.self)")
            }
            return try await act(typed, actor)
        }
        registry.services.register(
            method,
            .unaryAsync { request, context in
                // Who may call comes before what was sent: a bank learns nothing about Admin's validation rules.
                let actor: String
                switch context.peer {
                case .operatorName(let name)?: actor = "operator/\(name)"
                case .bank(let code)?:
                    throw RequestChecks.adminService(caller: .bank(code: code))!.status
                case nil:
                    throw GRPCStatus(.permissionDenied, "an operator client certificate is required")
                }
                let decoded = try MessageCoding.decode(Request.self, from: request)
                do {
                    return try MessageCoding.encode(try await act(decoded, actor), context: context, capacityHint: 256)
                } catch let error as WalletError {
                    throw error.status
                }
            })
    }

    static func bank(_ store: WalletStore, _ code: String) async throws -> AdminBank {
        guard let bank = try await store.bankRecord(code: code) else {
            throw GRPCStatus(.notFound, "bank \(code) not found")
        }
        var admin = AdminBank(bank)
        admin.settlementBalanceYen = try await store.settlementBalanceYen(bankCode: code) ?? 0
        return admin
    }

    static func wallet(_ store: WalletStore, _ id: String) async throws -> AdminWallet {
        guard let wallet = try await store.walletRecord(id: id) else {
            throw GRPCStatus(.notFound, "wallet \(id) not found")
        }
        return AdminWallet(wallet)
    }
}

/// The Admin operations, as RPC handlers and as in-process calls (`AdminService.perform`).
struct AdminRegistry {
    var services = RPCServices()
    var operations: [String: @Sendable (any Sendable, String) async throws -> any Sendable] = [:]
}

/// One-time link codes: 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L), shown as XXXX-XXXX.
/// 31^8 ≈ 8.5·10^11 codes; a code lives 10 minutes and five wrong links lock the wallet.
enum LinkCode {
    static let alphabet = Array("23456789ABCDEFGHJKMNPQRSTUVWXYZ".utf8)

    static func generate() -> String {
        let random = SecureRandom.bytes(8)
        // Rejection sampling would remove the modulo bias (256 % 31 = 8); at 8 characters it moves the odds of a
        // guess by under 4 % of an already negligible number, so plain modulo keeps the code simple.
        var chars = random.map { alphabet[Int($0) % alphabet.count] }
        chars.insert(UInt8(ascii: "-"), at: 4)
        return String(decoding: chars, as: UTF8.self)
    }
}

extension AdminBank {
    init(_ record: BankRecord) {
        self.init()
        bankCode = record.facts.code
        name = record.name
        linkState = record.facts.linkState
        chargeState = record.facts.chargeState
        profile = AdminBankProfile(record.facts.profile)
        pilotWalletIDs = record.facts.pilotWalletIDs.sorted()
        if let last = record.lastPassingConformanceAtUnixMs {
            var conformance = ConformanceRecord()
            conformance.bankCode = record.facts.code
            conformance.passed = true
            conformance.recordedAtUnixMs = last
            lastConformance = conformance
        }
    }
}

extension AdminBankProfile {
    init(_ profile: BankProfile) {
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

extension BankProfile {
    /// Zero fields of the wire profile mean "the default" (proto3 cannot tell unset from 0).
    init(_ wire: AdminBankProfile) {
        func orDefault(_ value: Int64, _ fallback: Int64) -> Int64 { value == 0 ? fallback : value }
        self.init(
            maxChargeYen: orDefault(wire.maxChargeYen, BankProfile.maxChargeYenDefault),
            maxDailyYenPerWallet: orDefault(wire.maxDailyYenPerWallet, BankProfile.maxDailyYenPerWalletDefault),
            maxMonthlyYenPerWallet: orDefault(wire.maxMonthlyYenPerWallet, BankProfile.maxMonthlyYenPerWalletDefault),
            newLinkMaxChargeYen: orDefault(wire.newLinkMaxChargeYen, BankProfile.newLinkMaxChargeYenDefault),
            newLinkCautionMs: orDefault(wire.newLinkCautionMs, BankProfile.newLinkCautionMsDefault),
            chargeRequiresCustomerAuth: wire.chargeRequiresCustomerAuth,
            requiredEkycMethods: Set(wire.requiredEkycMethods),
            pinnedSPKISHA256: wire.pinnedSPKISHA256.isEmpty ? nil : wire.pinnedSPKISHA256,
            maxRequestsPerSecond: orDefault(wire.maxRequestsPerSecond, BankProfile.maxRequestsPerSecondDefault)
        )
    }
}

extension AdminWallet {
    init(_ record: WalletRecord) {
        self.init()
        let facts = record.facts
        walletAccountID = facts.id
        test = facts.isTest
        ekycStatus = facts.ekycStatus
        ekycMethod = facts.ekycMethod
        ekycNameKana = facts.ekycNameKana
        ekycVerifiedAtUnixMs = facts.ekycVerifiedAtUnixMs
        phoneVerified = facts.phoneVerified
        linkLocked = facts.linkLocked
        chargeFrozen = facts.chargeFrozen
        balanceYen = facts.balanceYen
        balanceCapYen = facts.balanceCapYen
    }
}

extension AdminHold {
    init(_ hold: WalletCore.Hold) {
        self.init()
        chargeID = hold.chargeID
        bankCode = hold.bankCode
        requestID = hold.requestID
        linkID = hold.linkID
        walletAccountID = hold.walletID
        amountYen = hold.amountYen
        rule = hold.rule
        heldAtUnixMs = hold.heldAtUnixMs
        state = hold.state
        resolvedBy = hold.resolvedBy ?? ""
    }
}
