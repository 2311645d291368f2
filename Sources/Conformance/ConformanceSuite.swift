import GatewayCrypto
import GatewayRPC
import GatewayTLS
import GatewayWire
import Glibc
import NIOCore
import Synchronization

/// The per-bank conformance suite (SPEC §7 `bankgw conformance`): every behaviour of SPEC §1–§5 a bank can cause,
/// checked against a running gateway with the bank's own certificate.
///
/// It works for a PENDING bank because it only uses TEST wallets it registers itself (ids `W8xxxxxx`, fresh per
/// run), never demo or customer wallets; every case sets up its own wallets, links and tokens so cases do not
/// depend on each other's order or leftovers. Each case names its SPEC reference; docs/CONFORMANCE.md lists them.
public final class ConformanceSuite: Sendable {
    /// SPEC §1: messages over 64 KiB are refused.
    static let maxMessageBytes = 64 * 1024
    /// Identical requests fired at once to provoke the in-flight twin (SPEC §3 ABORTED).
    static let inFlightTwins = 20
    /// The eKYC name of every test wallet; the name-mismatch case sends another.
    static let walletKana = "テスト タロウ"

    let configuration: ConformanceConfiguration
    let bank: GatewayConnection
    let admin: GatewayConnection
    /// The bank's limits as the gateway holds them (GetBank), so limit cases follow the bank's profile.
    let profile: AdminBankProfile
    private let sequence = Atomic<Int>(0)
    private let nextWallet: Atomic<Int>

    private init(
        configuration: ConformanceConfiguration, bank: GatewayConnection, admin: GatewayConnection,
        profile: AdminBankProfile
    ) {
        self.configuration = configuration
        self.bank = bank
        self.admin = admin
        self.profile = profile
        // Wallet numbers from the clock: consecutive runs start apart; a taken number is skipped on registration.
        self.nextWallet = Atomic(Int((ConformanceClock.nowUnixMs() / 100) % 1_000_000))
    }

    /// Runs every case and records the result through Admin `RecordConformance`. Throws only when the run can't
    /// say anything (gateway unreachable, operator set-up refused); failed cases are in the report.
    public static func run(
        _ configuration: ConformanceConfiguration
    ) async throws(ConformanceError)
        -> ConformanceReport
    {
        let target = configuration.target
        let bank = try await GatewayConnection.tls(
            host: target.host, port: target.port, caPath: target.caPath, certificatePath: target.bankCertificatePath,
            keyPath: target.bankKeyPath, timeoutMs: configuration.callTimeoutMs)
        let admin: GatewayConnection
        do {
            admin = try await GatewayConnection.tls(
                host: target.host, port: target.port, caPath: target.caPath,
                certificatePath: target.operatorCertificatePath, keyPath: target.operatorKeyPath,
                timeoutMs: configuration.callTimeoutMs)
        } catch {
            await bank.close()
            throw error
        }
        var getBank = GetBankRequest()
        getBank.bankCode = configuration.bankCode
        let profile: AdminBankProfile
        switch await admin.call(AdminMethods.getBank.path, getBank, as: AdminBank.self) {
        case .success(let found): profile = found.profile ?? AdminBankProfile()
        case .failure(let status):
            await bank.close()
            await admin.close()
            throw .setupFailed("Admin/GetBank \(configuration.bankCode): \(status)")
        }
        let suite = ConformanceSuite(configuration: configuration, bank: bank, admin: admin, profile: profile)
        var results: [CaseResult] = []
        for testCase in suite.cases {
            results.append(await suite.execute(testCase))
        }
        let report = ConformanceReport(
            bankCode: configuration.bankCode,
            bankIdentity: "spiffe://bankgw.partners/bank/\(configuration.bankCode) certificate-sha256="
                + (suite.fileSHA256Hex(target.bankCertificatePath) ?? "unreadable"),
            runID: configuration.runID, results: results)
        do {
            try await suite.record(report)
        } catch {
            await bank.close()
            await admin.close()
            throw error
        }
        await bank.close()
        await admin.close()
        return report
    }

    // MARK: - Running one case

    struct Case: Sendable {
        var name: String
        var specReference: String
        var expected: String
        var body: @Sendable () async throws -> Observation
    }

    /// What a case saw and whether that is what SPEC requires.
    struct Observation: Sendable {
        var got: String
        var passed: Bool
    }

    /// A step of a case's set-up failed: the case fails with this as its `got`.
    struct SetupFailure: Error {
        var what: String
    }

    /// `RUN_ID CASE_NAME` of the case running in this task: every request it sends carries it (SPEC §4 witness).
    @TaskLocal static var witnessTag: String?

    private func execute(_ testCase: Case) async -> CaseResult {
        let start = ConformanceClock.monotonicNs()
        let observation: Observation
        do {
            observation = try await Self.$witnessTag.withValue("\(configuration.runID) \(testCase.name)") {
                try await testCase.body()
            }
        } catch let failure as SetupFailure {
            observation = Observation(got: "set-up failed: \(failure.what)", passed: false)
        } catch {
            observation = Observation(got: "error: \(error)", passed: false)
        }
        let ms = Int64((ConformanceClock.monotonicNs() - start) / 1_000_000)
        return CaseResult(
            name: testCase.name, specReference: testCase.specReference, expected: testCase.expected,
            got: observation.got, passed: observation.passed, durationMs: ms)
    }

    private func record(_ report: ConformanceReport) async throws(ConformanceError) {
        var record = ConformanceRecord()
        record.bankCode = report.bankCode
        record.passed = report.passed
        record.casesPassed = Int32(report.casesPassed)
        record.casesFailed = Int32(report.casesFailed)
        record.reportSHA256Hex = report.reportSHA256Hex
        record.bankIdentity = report.bankIdentity
        record.failedCases = report.failedCases
        record.runID = report.runID
        // The bank's half of the mutual check: the report signed with the key of the certificate the run used.
        do {
            let key = try PrivateKey.loadPEM(path: configuration.target.bankKeyPath)
            record.reportSignature = key.signSHA256(try record.bankSignedBytes())
        } catch {
            throw .setupFailed("cannot sign the report with \(configuration.target.bankKeyPath): \(error)")
        }
        var request = RecordConformanceRequest()
        request.record = record
        if case .failure(let status) = await admin.call(
            AdminMethods.recordConformance.path, request, as: ConformanceRecord.self)
        {
            throw .setupFailed("Admin/RecordConformance: \(status)")
        }
    }

    private func fileSHA256Hex(_ path: String) -> String? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // A certificate file is a few KiB; 1 MiB bounds the read.
        while bytes.count < 1 << 20 {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return SHA256.hex(bytes)
    }

    // MARK: - Requests a bank sends

    func nextID(_ what: String) -> String {
        let n = sequence.add(1, ordering: .relaxed).newValue
        return "conf-\(configuration.runID)-\(what)\(n)"
    }

    func header(sentAtUnixMs: Int64 = ConformanceClock.nowUnixMs(), bankCode: String? = nil) -> RequestHeader {
        RequestHeader(bankCode: bankCode ?? configuration.bankCode, requestID: nextID("r"), sentAtUnixMs: sentAtUnixMs)
    }

    func strongAuth(_ method: AuthMethod = .smsOTP) -> CustomerAuth {
        CustomerAuth(method: method, authenticatedAtUnixMs: ConformanceClock.nowUnixMs(), authReference: "conformance")
    }

    func token() -> String { nextID("tok-") }

    func linkRequest(
        wallet: String, code: String, token: String? = nil, kana: String = walletKana, auth: AuthMethod = .smsOTP
    ) -> LinkAccountRequest {
        LinkAccountRequest(
            header: header(), walletAccountID: wallet, linkCode: code, bankAccountToken: token ?? self.token(),
            accountHolderKana: kana, customerAuth: strongAuth(auth))
    }

    func link(_ request: LinkAccountRequest) async -> Result<LinkAccountResponse, GRPCStatus> {
        await bank.call(BankGatewayMethods.linkAccount.path, request)
    }

    func charge(_ request: ChargeRequest) async -> Result<ChargeResponse, GRPCStatus> {
        await bank.call(BankGatewayMethods.charge.path, request)
    }

    func charge(link: String, amountYen: Int64) async -> Result<ChargeResponse, GRPCStatus> {
        await charge(ChargeRequest(header: header(), linkID: link, amountYen: amountYen, customerAuth: strongAuth()))
    }

    func unlink(_ link: String, reason: String = "customer request") async -> Result<UnlinkResponse, GRPCStatus> {
        await bank.call(BankGatewayMethods.unlink.path, UnlinkRequest(header: header(), linkID: link, reason: reason))
    }

    // MARK: - Operator set-up (test wallets only)

    /// Registers a fresh TEST wallet; by default eKYC VERIFIED (ヘ) as `walletKana` and phone verified.
    func testWallet(ekycVerified: Bool = true, phoneVerified: Bool = true) async throws -> String {
        var wallet = ""
        // A number another run took is skipped; 1,000 tries bound the loop.
        for _ in 0..<1_000 {
            let n = nextWallet.add(1, ordering: .relaxed).newValue % 1_000_000
            let id = "W8" + String(repeating: "0", count: 6 - String(n).count) + String(n)
            let request = RegisterWalletRequest(walletAccountID: id, test: true, reason: "conformance test wallet")
            switch await admin.call(AdminMethods.registerWallet.path, request, as: AdminWallet.self) {
            case .success: wallet = id
            case .failure(let status) where status.code == .alreadyExists: continue
            case .failure(let status): throw SetupFailure(what: "RegisterWallet \(id): \(status)")
            }
            break
        }
        guard !wallet.isEmpty else { throw SetupFailure(what: "RegisterWallet: no free W8 number in 1,000 tries") }
        if ekycVerified {
            var ekyc = RecordEkycRequest()
            ekyc.walletAccountID = wallet
            ekyc.status = .verified
            ekyc.method = .heICChipAndSelfie
            ekyc.nameKana = Self.walletKana
            ekyc.verifiedAtUnixMs = ConformanceClock.nowUnixMs()
            ekyc.reason = "conformance test wallet"
            try await adminStep(AdminMethods.recordEkyc, ekyc, as: AdminWallet.self)
        }
        if phoneVerified {
            let phone = MarkPhoneVerifiedRequest(walletAccountID: wallet, reason: "conformance test wallet")
            try await adminStep(AdminMethods.markPhoneVerified, phone, as: AdminWallet.self)
        }
        return wallet
    }

    func linkCode(_ wallet: String) async throws -> String {
        try await adminStep(
            AdminMethods.issueLinkCode, IssueLinkCodeRequest(walletAccountID: wallet), as: IssueLinkCodeResponse.self
        )
        .linkCode
    }

    func balanceYen(_ wallet: String) async throws -> Int64 {
        try await adminStep(AdminMethods.getWallet, GetWalletRequest(walletAccountID: wallet), as: AdminWallet.self)
            .balanceYen
    }

    /// A fresh test wallet linked to a fresh token: (wallet, link id).
    func linkedWallet() async throws -> (wallet: String, link: String) {
        let wallet = try await testWallet()
        let request = linkRequest(wallet: wallet, code: try await linkCode(wallet))
        switch await link(request) {
        case .success(let response) where response.decision == .approved && !response.linkID.isEmpty:
            return (wallet, response.linkID)
        case .success(let response):
            throw SetupFailure(what: "LinkAccount \(wallet): \(Self.describe(response))")
        case .failure(let status):
            throw SetupFailure(what: "LinkAccount \(wallet): \(status)")
        }
    }

    @discardableResult
    private func adminStep<Request: WireMessage, Response: WireMessage>(
        _ method: WireMethod<Request, Response>, _ request: Request, as: Response.Type
    ) async throws -> Response {
        switch await admin.call(method.path, request, as: Response.self) {
        case .success(let response): return response
        case .failure(let status): throw SetupFailure(what: "Admin/\(method.name): \(status)")
        }
    }

    // MARK: - Describing what came back

    static func describe(_ response: LinkAccountResponse) -> String {
        response.decision == .declined
            ? "DECLINED \(name(response.declineReason))" : "\(name(response.decision))"
    }

    static func describe(_ response: ChargeResponse) -> String {
        response.decision == .declined
            ? "DECLINED \(name(response.declineReason))" : "\(name(response.decision))"
    }

    static func describe<T>(_ result: Result<T, GRPCStatus>, _ ok: (T) -> String) -> String {
        switch result {
        case .success(let value): return ok(value)
        case .failure(let status): return status.code.name + (status.message.isEmpty ? "" : " (\(status.message))")
        }
    }

    static func name(_ decision: Decision) -> String { decision.protoName }

    static func name(_ reason: DeclineReason) -> String { reason.protoName }
}
