import GatewayWire

/// One fully populated value of every message type, for round trips and benchmarks.
enum Samples {
    static let header = RequestHeader(
        bankCode: "9900", requestID: "req-20261124.0001_a", sentAtUnixMs: 1_764_000_000_123)
    static let auth = CustomerAuth(method: .smsOTP, authenticatedAtUnixMs: 1_764_000_000_000, authReference: "otp-7781")

    static let linkRequest = LinkAccountRequest(
        header: header, walletAccountID: "W0000001", linkCode: "K7Q2-M9XA", bankAccountToken: "tok_9900_a1b2c3d4e5",
        accountHolderKana: "ヤマダ ハナコ", customerAuth: auth
    )
    static let chargeRequest = ChargeRequest(
        header: header, linkID: "L-000000000042", amountYen: 12_345, customerAuth: auth
    )

    static var allMessages: [any WireMessage] {
        var profile = AdminBankProfile()
        profile.maxChargeYen = 300_000
        profile.maxDailyYenPerWallet = 500_000
        profile.maxMonthlyYenPerWallet = 2_000_000
        profile.newLinkMaxChargeYen = 50_000
        profile.newLinkCautionMs = 86_400_000
        profile.chargeRequiresCustomerAuth = true
        profile.requiredEkycMethods = [.heICChipAndSelfie, .waJPKI]
        profile.pinnedSPKISHA256 = Array(repeating: 0xAB, count: 32)
        profile.maxRequestsPerSecond = 1_000
        var record = ConformanceRecord()
        record.bankCode = "0005"
        record.passed = false
        record.casesPassed = 41
        record.casesFailed = 2
        record.reportSHA256Hex = String(repeating: "ab", count: 32)
        record.operatorName = "demo"
        record.bankIdentity = "bank/0005"
        record.recordedAtUnixMs = 1_764_000_000_000
        record.failedCases = ["link.name_mismatch", "charge.limit_daily"]
        var bank = AdminBank()
        bank.bankCode = "0001"
        bank.name = "みずほ銀行"
        bank.linkState = .pilot
        bank.chargeState = .pilot
        bank.profile = profile
        bank.pilotWalletIDs = ["W0000002", "W0000009"]
        bank.lastConformance = record
        bank.settlementBalanceYen = -1_234_567
        var wallet = AdminWallet()
        wallet.walletAccountID = "W0000001"
        wallet.test = true
        wallet.ekycStatus = .verified
        wallet.ekycMethod = .heICChipAndSelfie
        wallet.ekycNameKana = "ヤマダ ハナコ"
        wallet.ekycVerifiedAtUnixMs = 1_700_000_000_000
        wallet.phoneVerified = true
        wallet.linkLocked = true
        wallet.chargeFrozen = true
        wallet.balanceYen = 999_999
        wallet.balanceCapYen = 1_000_000
        var hold = AdminHold()
        hold.chargeID = "C-1"
        hold.bankCode = "9900"
        hold.requestID = "r-1"
        hold.linkID = "L-1"
        hold.walletAccountID = "W0000001"
        hold.amountYen = 45_000
        hold.rule = "charge.hold.new_link_near_limit"
        hold.heldAtUnixMs = 1_764_000_000_000
        hold.state = .released
        hold.resolvedBy = "operator/demo"
        hold.resolutionReason = "customer confirmed by phone"
        var setProfile = SetBankProfileRequest()
        setProfile.bankCode = "9900"
        setProfile.profile = profile
        setProfile.reason = "raise limits"
        var pilot = SetPilotListRequest()
        pilot.bankCode = "0001"
        pilot.walletAccountIDs = ["W0000002"]
        pilot.reason = "pilot cohort 1"
        var ekyc = RecordEkycRequest()
        ekyc.walletAccountID = "W0000004"
        ekyc.status = .verified
        ekyc.method = .waJPKI
        ekyc.nameKana = "タナカ ジロウ"
        ekyc.verifiedAtUnixMs = 1_764_000_000_000
        ekyc.reason = "JPKI signature verified"
        return [
            header, auth, linkRequest,
            LinkAccountResponse(decision: .declined, linkID: "", declineReason: .nameMismatch),
            LinkAccountResponse(decision: .approved, linkID: "L-1", declineReason: .unspecified),
            chargeRequest,
            ChargeResponse(
                decision: .approved, chargeID: "C-000001", declineReason: .unspecified,
                processedAtUnixMs: 1_764_000_000_456, receiptSignature: Array(0..<72)
            ),
            GetChargeRequest(header: header, originalRequestID: "req-1"),
            UnlinkRequest(header: header, linkID: "L-1", reason: "FRAUD: customer reported stolen PIN"),
            UnlinkResponse(unlinked: true),
            HealthCheckRequest(service: "bankgw.v1.BankGateway"),
            HealthCheckResponse(status: .notServing),
            profile, record, bank, ListBanksRequest(), ListBanksResponse(banks: [bank, bank]),
            GetBankRequest(bankCode: "0005"),
            SetBankStateRequest(bankCode: "0009", operation: .charge, state: .suspended, reason: "kill switch"),
            setProfile, pilot, RecordConformanceRequest(record: record), wallet,
            RegisterWalletRequest(walletAccountID: "W0000100", test: true, reason: "conformance"),
            GetWalletRequest(walletAccountID: "W0000001"), ekyc,
            MarkPhoneVerifiedRequest(walletAccountID: "W0000004", reason: "SMS verified"),
            IssueLinkCodeRequest(walletAccountID: "W0000001"),
            IssueLinkCodeResponse(linkCode: "K7Q2-M9XA", expiresAtUnixMs: 1_764_000_600_000),
            WalletActionRequest(walletAccountID: "W0000001", reason: "reviewed"),
            hold, ListHoldsRequest(includeResolved: true), ListHoldsResponse(holds: [hold]),
            ReleaseHoldRequest(chargeID: "C-1", reason: "ok"), RejectHoldRequest(chargeID: "C-2", reason: "fraud"),
        ] + reflectionV1 + reflectionV1Alpha + monitoringMessages + eventsMessages
    }

    // MARK: - gRPC reflection (messages with oneofs and repeated bytes)

    static let extensionRequest = ExtensionRequest(containingType: "bankgw.v1.ChargeRequest", extensionNumber: 1_000)
    /// Every member of `ServerReflectionRequest.message_request`, including one holding the proto3 default.
    static let reflectionRequestCases: [ServerReflectionRequest.MessageRequest] = [
        .fileByFilename("bankgw/v1/bankgw.proto"), .fileContainingSymbol("bankgw.v1.BankGateway.Charge"),
        .fileContainingExtension(extensionRequest), .allExtensionNumbersOfType("bankgw.v1.ChargeRequest"),
        .listServices(""), .listServices("*"),
    ]
    static let fileDescriptors = FileDescriptorResponse(
        fileDescriptorProto: [[0x0A, 0x03, 0x61, 0x2E, 0x70], [], Array(0..<200)]
    )
    static let services = ListServiceResponse(service: [
        ServiceResponse(name: "bankgw.v1.BankGateway"), ServiceResponse(name: "grpc.health.v1.Health"),
    ])
    /// Every member of `ServerReflectionResponse.message_response`.
    static let reflectionResponseCases: [ServerReflectionResponse.MessageResponse] = [
        .fileDescriptorResponse(fileDescriptors),
        .allExtensionNumbersResponse(
            ExtensionNumberResponse(baseTypeName: "bankgw.v1.ChargeRequest", extensionNumber: [1, 7])
        ),
        .listServicesResponse(services), .listServicesResponse(ListServiceResponse()),
        .errorResponse(ErrorResponse(errorCode: 5, errorMessage: "symbol not found: bankgw.v1.Nope")),
    ]

    static var reflectionV1: [any WireMessage] {
        let request = ServerReflectionRequest(
            host: "gw.example", messageRequest: .fileByFilename("bankgw/v1/bankgw.proto")
        )
        return [
            request, extensionRequest,
            ServerReflectionResponse(
                validHost: "gw.example", originalRequest: request, messageResponse: .listServicesResponse(services)
            ),
            fileDescriptors,
            ExtensionNumberResponse(baseTypeName: "bankgw.v1.ChargeRequest", extensionNumber: [1, 7, 536_870_911]),
            services, ServiceResponse(name: "bankgw.v1.BankGateway"),
            ErrorResponse(errorCode: 12, errorMessage: "unimplemented"),
        ]
    }

    static var reflectionV1Alpha: [any WireMessage] {
        let request = V1AlphaServerReflectionRequest(host: "", messageRequest: .listServices(""))
        let services = V1AlphaListServiceResponse(service: [V1AlphaServiceResponse(name: "grpc.health.v1.Health")])
        return [
            request, V1AlphaExtensionRequest(containingType: "grpc.health.v1.HealthCheckRequest", extensionNumber: 9),
            V1AlphaServerReflectionResponse(
                originalRequest: request, messageResponse: .listServicesResponse(services)
            ),
            V1AlphaFileDescriptorResponse(fileDescriptorProto: [[1, 2, 3]]),
            V1AlphaExtensionNumberResponse(baseTypeName: "grpc.health.v1.HealthCheckRequest", extensionNumber: [5]),
            services, V1AlphaServiceResponse(name: "grpc.health.v1.Health"),
            V1AlphaErrorResponse(errorCode: 5, errorMessage: "not found"),
        ]
    }

    /// SPEC §8: alerts, block lists, approvals.
    static var monitoringMessages: [any WireMessage] {
        var note = AlertNote()
        note.atUnixMs = 1_764_000_000_500
        note.operatorName = "operator/demo"
        note.text = "銀行に確認済み"
        var alert = Alert()
        alert.alertID = "al_1"
        alert.rule = "bank.decline_burst"
        alert.severity = .critical
        alert.subjectKind = .bank
        alert.subject = "0001"
        alert.bankCode = "0001"
        alert.walletAccountID = "W0000002"
        alert.firstSeenUnixMs = 1_764_000_000_000
        alert.lastSeenUnixMs = 1_764_000_060_000
        alert.count = 73
        alert.state = .acknowledged
        alert.assignee = "operator/demo"
        alert.notes = [note]
        alert.chargeIDs = ["C-1", "C-2"]
        alert.holdIDs = ["C-2"]
        alert.detail = "60 of 60 decisions declined within 5 min"
        alert.proposedAction = "suspend bank 0001"
        alert.proposalConfirmed = true
        alert.changeSequence = 42
        var list = ListAlertsRequest()
        list.state = .open
        list.severity = .high
        list.rule = "wallet.velocity"
        list.bankCode = "9900"
        list.walletAccountID = "W0000001"
        var listed = ListAlertsResponse()
        listed.alerts = [alert]
        var ack = AcknowledgeAlertRequest()
        ack.alertID = "al_1"
        ack.assignee = "operator/demo2"
        ack.note = "looking"
        var resolve = ResolveAlertRequest()
        resolve.alertID = "al_1"
        resolve.note = "bank confirmed"
        var confirm = ConfirmSuspensionRequest()
        confirm.alertID = "al_1"
        confirm.reason = "credential stuffing"
        var blocked = BlockedValue()
        blocked.kind = .accountToken
        blocked.value = "9900:0123456789abcdef"
        blocked.bankCode = "9900"
        blocked.reason = "stolen"
        blocked.blockedBy = "operator/demo"
        blocked.blockedAtUnixMs = 1_764_000_000_000
        var listBlocked = ListBlockedRequest()
        listBlocked.kind = .wallet
        var blockedList = ListBlockedResponse()
        blockedList.entries = [blocked]
        var block = BlockRequest()
        block.kind = .accountToken
        block.value = "tok-1"
        block.bankCode = "9900"
        block.reason = "stolen"
        var unblock = UnblockRequest()
        unblock.kind = .clientAddress
        unblock.value = "192.0.2.1"
        unblock.reason = "cleared"
        var approval = Approval()
        approval.approvalID = "ap_1"
        approval.kind = "hold.release"
        approval.subject = "C-1"
        approval.summary = "release 150,000 yen"
        approval.payloadJSON = #"{"charge_id":"C-1"}"#
        approval.requestedBy = "operator/demo"
        approval.requestReason = "customer called"
        approval.requestedAtUnixMs = 1_764_000_000_000
        approval.expiresAtUnixMs = 1_764_086_400_000
        approval.state = .approved
        approval.decidedBy = "operator/demo2"
        approval.decidedAtUnixMs = 1_764_000_100_000
        approval.decisionReason = "checked"
        approval.result = "released 150000 yen to W0000001"
        var listApprovals = ListApprovalsRequest()
        listApprovals.includeDecided = true
        var approvals = ListApprovalsResponse()
        approvals.approvals = [approval]
        var approve = ApproveRequest()
        approve.approvalID = "ap_1"
        approve.reason = "checked"
        var decline = DeclineRequest()
        decline.approvalID = "ap_1"
        decline.reason = "no"
        return [
            note, alert, list, listed, WatchAlertsRequest(), ack, resolve, confirm, blocked, listBlocked, blockedList,
            block, unblock, approval, listApprovals, approvals, approve, decline,
        ]
    }

    /// SPEC §2 WatchEvents and §9 reversals, compensation and spending.
    static var eventsMessages: [any WireMessage] {
        let reversal = Reversal(
            reversalID: "rv_1", chargeID: "ch_1", amountYen: 30_000, fromWalletYen: 10_000, fromCompensationYen: 20_000,
            reason: "fraud", requestedBy: "operator/demo", approvedBy: "operator/demo2",
            createdAtUnixMs: 1_764_000_100_000, caseID: "cc_1")
        let compensationCase = CompensationCase(
            caseID: "cc_1", bankCode: "9900", bankAccountToken: "tok_9900_a1b2c3d4e5", state: .paid,
            chargeIDs: ["ch_1", "ch_2"], chargedYen: 90_000, reversedFromWalletsYen: 10_000,
            paidFromCompensationYen: 80_000, reason: "victim", openedBy: "operator/demo",
            openedAtUnixMs: 1_764_000_000_000, paidAtUnixMs: 1_764_000_200_000, closedAtUnixMs: 0,
            reversals: [reversal])
        return [
            WatchEventsRequest(header: header, afterSequence: 41),
            BankEvent(
                sequence: 42, occurredAtUnixMs: 1_764_000_000_999, type: .compensationPaid, linkID: "L-1",
                chargeID: "ch_1", requestID: "r-1", amountYen: 20_000, reason: "shortfall"),
            ReverseChargeRequest(chargeID: "ch_1", amountYen: 30_000, reason: "fraud", keepChargesOpen: true),
            reversal, compensationCase,
            OpenCompensationCaseRequest(
                bankCode: "9900", bankAccountToken: "tok_9900_a1b2c3d4e5", chargeIDs: ["ch_1", "ch_2"],
                reason: "victim"),
            PayCompensationRequest(caseID: "cc_1", reason: "pay"),
            CloseCompensationCaseRequest(caseID: "cc_1", reason: "bank confirmed"),
            ListCompensationCasesRequest(), ListCompensationCasesResponse(cases: [compensationCase]),
            Merchant(merchantID: "M1", name: "家電店", balanceYen: 80_000),
            RegisterMerchantRequest(merchantID: "M1", name: "家電店", reason: "shop"),
            PayFromWalletRequest(
                walletAccountID: "W0000001", merchantID: "M1", amountYen: 80_000, reference: "order-1",
                reason: "purchase"),
            WalletPayment(
                paymentID: "py_1", walletAccountID: "W0000001", merchantID: "M1", amountYen: 80_000,
                walletBalanceYen: 10_000, paidAtUnixMs: 1_764_000_000_500),
        ]
    }
}
