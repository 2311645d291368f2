import ArgumentParser
import Foundation
import GatewayCrypto
import GatewayPolicy
import GatewayService
import GatewayWire
import WalletCore

/// Load on the wallet core without the network: N wallets linked at bank 9900, charged by C concurrent callers.
///
/// Shared by `ledger bench` (throughput) and the hidden `ledger load` (the crash test's child process). The verdicts
/// and signatures are stand-ins (this measures and tortures the ledger, not the checks or the receipt key).
struct WalletLoad: Sendable {
    let store: WalletStore
    /// Link id per load wallet.
    let links: [String]

    static let bankCode = "9900"

    /// Seeds the demo registry and `wallets` load wallets, each linked once. Idempotent: a restart gets the same
    /// links back through the idempotency records.
    static func prepare(store: WalletStore, wallets: Int) async throws -> WalletLoad {
        precondition((1...10_000).contains(wallets), "1...10,000 load wallets")
        try await store.seedDemo()
        let audit = AuditContext(actor: "operator/load", reason: "load fixture")
        var links: [String] = []
        for index in 0..<wallets {
            let walletID = String(format: "L%07d", index)
            let codeHash = digest("code-\(walletID)")
            let request = LinkAccountRequest(
                header: RequestHeader(bankCode: bankCode, requestID: "load-link-\(walletID)"),
                walletAccountID: walletID, linkCode: "load", bankAccountToken: "load-token-\(walletID)")
            if try await store.wallet(id: walletID) == nil {
                try await store.registerWallet(id: walletID, isTest: true, audit: audit)
                try await store.issueLinkCode(
                    walletID: walletID, codeMAC: codeHash,
                    expiresAtUnixMs: WalletStore.systemClock() + LinkRules.linkCodeLifetimeMs,
                    audit: audit)
            }
            let outcome = try await store.submitLink(
                request, bankCode: bankCode, bodyDigest: digest(request.header.requestID), linkCodeMAC: codeHash,
                decide: { _ in .approve })
            guard outcome.response.decision == .approved else {
                throw ValidationError("load wallet \(walletID) could not be linked: \(outcome.response)")
            }
            links.append(outcome.response.linkID)
        }
        return WalletLoad(store: store, links: links)
    }

    /// Links a new bank account token (the `n`th) to one of the load's wallets: a link code, then LinkAccount.
    func linkNewAccount(_ n: Int) async throws {
        let walletID = String(format: "L%07d", n % links.count)
        let codeMAC = digest("bench-code-\(n)-\(UUID().uuidString)")
        try await store.issueLinkCode(
            walletID: walletID, codeMAC: codeMAC, expiresAtUnixMs: WalletStore.systemClock() + 60_000,
            audit: AuditContext(actor: "operator/load", reason: "load: a bank linking accounts"))
        let request = LinkAccountRequest(
            header: RequestHeader(bankCode: Self.bankCode, requestID: "load-link-new-\(n)-\(UUID().uuidString)"),
            walletAccountID: walletID, linkCode: "load", bankAccountToken: "load-new-token-\(n)-\(UUID().uuidString)")
        let outcome = try await store.submitLink(
            request, bankCode: Self.bankCode, bodyDigest: digest(request.header.requestID), linkCodeMAC: codeMAC,
            decide: { _ in .approve })
        guard outcome.response.decision == .approved else {
            throw ValidationError("load link \(n) for \(walletID) was not approved: \(outcome.response)")
        }
    }

    /// The charge a load caller sends for `requestID`: amount and link derive from the id, so a replay after a
    /// restart sends the same body.
    func charge(_ requestID: String, linkIndex: Int) -> (ChargeRequest, [UInt8]) {
        let amount = Int64(1 + Int(digest(requestID)[0]) % 100)
        let request = ChargeRequest(
            header: RequestHeader(bankCode: Self.bankCode, requestID: requestID),
            linkID: links[linkIndex % links.count],
            amountYen: amount)
        return (request, digest("\(requestID)|\(request.linkID)|\(amount)"))
    }

    /// Mostly approve; some holds and declines so the crash test covers every decision.
    static let decide: @Sendable (ChargeAttemptFacts) -> Verdict = { facts in
        switch facts.request.amountYen % 17 {
        case 0: return .hold(rule: "load-hold")
        case 1: return .decline(.limitExceeded, rule: "load-decline")
        default: return .approve
        }
    }

    /// A stand-in receipt (not a signature): the fields it covers, so a changed replay would show.
    static let sign: @Sendable (ChargeResponse) -> ChargeResponse = { response in
        var sealed = response
        sealed.receiptSignature = Array(
            "load:\(response.decision.rawValue):\(response.chargeID):\(response.processedAtUnixMs)".utf8)
        return sealed
    }
}

/// 32 stable bytes per input (FNV-1a lanes). The store only compares digests; the gateway computes SHA-256.
func digest(_ text: String) -> [UInt8] {
    var lanes: [UInt64] = [0xcbf2_9ce4_8422_2325, 0x8422_2325_cbf2_9ce4, 0x1234_5678_9abc_def0, 0x0fed_cba9_8765_4321]
    for byte in text.utf8 {
        for lane in lanes.indices {
            lanes[lane] = (lanes[lane] ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ UInt64(lane)
        }
    }
    return lanes.flatMap { lane in (0..<8).map { UInt8(truncatingIfNeeded: lane >> ($0 * 8)) } }
}

/// `bankgw ledger bench`: durable approved charges/s in-process, with a stand-in receipt and with real ECDSA receipts.
///
/// One line per figure, `wallet NAME signer=S[ callers=N]: VALUE`, for `make bench` to parse:
///   wallet charges/s signer=ecdsa callers=256: 12345
///   wallet cpu_us_per_charge signer=ecdsa callers=256: 40.1
///   wallet mean_batch signer=ecdsa callers=256: 180.2
/// `cpu_us_per_charge` is the whole process's CPU (utime + stime from /proc/self/stat, callers included) over the
/// run divided by the approved charges: on this in-process load it is the price of one durable charge.
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Durable approved charges/s in-process (group commit), with stand-in and with ECDSA receipts.",
        discussion: "Each cell uses a fresh database under --state-dir (removed afterwards). Build with -c release."
    )

    enum Signer: String, ExpressibleByArgument, CaseIterable {
        /// A few bytes naming the response (no cryptography): the ledger alone.
        case standIn = "stand-in"
        /// SPEC §5 receipts with a fresh P-256 key, as `bankgw serve` signs them.
        case ecdsa
    }

    @Option(name: .customLong("state-dir"), help: "Where the benchmark databases go (not tmpfs: fsync is the point).")
    var stateDirectory = ".bankgw-bench"

    @Option(help: "Seconds per cell.")
    var seconds: Double = 3

    @Option(help: "Comma-separated concurrent caller counts.")
    var concurrency = "256"

    @Option(help: "Receipt signer: stand-in or ecdsa (default: both, one after the other).")
    var signer: Signer?

    @Option(help: "Load wallets (charges spread over them).")
    var wallets = 64

    @Option(name: .customLong("max-batch-ms"), help: "The writer's batch time bound (default: the store's).")
    var maxBatchMs: Int?

    @Flag(help: "Also measure one commit per charge (no group commit), for comparison.")
    var compareSingleCommit = false

    enum RequestIDs: String, ExpressibleByArgument, CaseIterable {
        /// Per caller and in order (`b<caller>-<n>`): each idempotency insert lands at the end of its caller's run.
        case sequential
        /// A fresh random UUID per charge, as banks send them: each idempotency insert lands at a random key.
        case uuid
    }

    @Option(name: .customLong("request-ids"), help: "How the load names its requests: sequential or uuid.")
    var requestIDs = RequestIDs.sequential

    @Flag(
        help: """
            Run the SPEC §8 monitoring rules beside the §4 chain, as `bankgw serve` does (thresholds the load cannot \
            trip: wallet.velocity and wallet.many_accounts raised out of reach, as in bench-charge).
            """)
    var monitoring = false

    @Option(
        name: .customLong("link-every-ms"),
        help: "Also link a new account every N ms while the charges run (a bank linking customers; 0: none).")
    var linkEveryMs = 0

    @Option(
        name: .customLong("alert-every-ms"),
        help: "Also raise a tls.refusals alert every N ms while the charges run (refused handshakes; 0: none).")
    var alertEveryMs = 0

    func validate() throws {
        guard seconds > 0, seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard (0...10_000).contains(linkEveryMs) else { throw ValidationError("--link-every-ms takes 0...10000") }
        guard (0...10_000).contains(alertEveryMs) else { throw ValidationError("--alert-every-ms takes 0...10000") }
        if let maxBatchMs, !(1...1_000).contains(maxBatchMs) {
            throw ValidationError("--max-batch-ms takes 1...1000")
        }
        guard !callerCounts.isEmpty, callerCounts.allSatisfy({ (1...4_096).contains($0) }) else {
            throw ValidationError("--concurrency takes 1...4096, comma-separated")
        }
    }

    private var callerCounts: [Int] { concurrency.split(separator: ",").compactMap { Int($0) } }

    func run() async throws {
        let createdDirectory = !FileManager.default.fileExists(atPath: stateDirectory)
        defer { if createdDirectory { try? FileManager.default.removeItem(atPath: stateDirectory) } }
        for signer in signer.map({ [$0] }) ?? Signer.allCases {
            let sign = try Self.sealer(signer)
            for callers in callerCounts {
                let limits = WalletLimits(
                    maxBatchDuration: maxBatchMs.map { .milliseconds($0) } ?? WalletLimits.maxBatchDurationDefault)
                let cell = try await measure(callers: callers, limits: limits, sign: sign)
                let tag =
                    "signer=\(signer.rawValue) callers=\(callers)" + (monitoring ? " monitoring=on" : "")
                    + (requestIDs == .uuid ? " request_ids=uuid" : "")
                    + (linkEveryMs > 0 ? " link_every_ms=\(linkEveryMs)" : "")
                    + (alertEveryMs > 0 ? " alert_every_ms=\(alertEveryMs)" : "")
                let writes = Double(max(1, cell.batches.writesCommitted))
                print("wallet charges/s \(tag): \(Int(cell.perSecond.rounded()))")
                print(figure("cpu_us_per_charge", tag, cell.cpuMicrosPerCharge))
                print(figure("mean_batch", tag, cell.batches.meanBatch))
                print(figure("writer_cpu_us_per_charge", tag, micros(cell.batches.writerCPU) / writes))
                print(figure("apply_us_per_charge", tag, micros(cell.batches.applying) / writes))
                print(figure("commit_us_per_charge", tag, micros(cell.batches.committing) / writes))
                print(figure("facts_read_per_charge", tag, Double(cell.batches.factsRead) / writes))
                print("wallet wal_frames_max \(tag): \(cell.checkpoints.largestWALFrames)")
                print(
                    "wallet checkpoints \(tag): \(cell.checkpoints.passiveCheckpoints) passive, "
                        + "\(cell.checkpoints.writerCatchUps) caught up by the writer "
                        + "(\(cell.checkpoints.writerWaits) after waiting), \(cell.checkpoints.logRestarts) restarts, "
                        + "\(cell.checkpoints.catchUpsPinnedByAReader) pinned, \(cell.checkpoints.busyCheckpoints) busy, "
                        + "\(cell.checkpoints.failedCheckpoints) failed"
                )
                print("wallet sqlite_counts_allocations \(tag): \(WalletStore.sqliteCountsAllocations ? "yes" : "no")")
                if compareSingleCommit {
                    let single = try await measure(
                        callers: callers, limits: WalletLimits(maxBatchWrites: 1), sign: sign)
                    print("wallet charges/s one-commit-each \(tag): \(Int(single.perSecond.rounded()))")
                }
            }
        }
    }

    static func sealer(_ signer: Signer) throws -> @Sendable (ChargeResponse) -> ChargeResponse {
        switch signer {
        case .standIn:
            return WalletLoad.sign
        case .ecdsa:
            let receipts = ReceiptSigner(key: try PrivateKey.generateP256())
            return { receipts.seal($0) }
        }
    }

    /// Every §8 rule on, with the two the load would trip (one wallet charged by many callers) out of its reach.
    private static let benchMonitoring: MonitoringChecks = {
        var thresholds = MonitoringThresholds()
        thresholds.walletManyAccountsMinTokens = 1_000
        thresholds.walletVelocityMinYen = 1_000_000_000
        return MonitoringChecks(thresholds: thresholds)
    }()

    private struct Cell {
        var perSecond: Double
        var cpuMicrosPerCharge: Double
        var batches: WriterStatistics
        var checkpoints: CheckpointStatistics
    }

    private func measure(
        callers: Int, limits: WalletLimits, sign: @escaping @Sendable (ChargeResponse) -> ChargeResponse
    ) async throws -> Cell {
        let directory = (stateDirectory as NSString).appendingPathComponent("cell-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try WalletStore(
            stateDirectory: directory, limits: limits, monitoring: monitoring ? Self.benchMonitoring : .off)
        let load = try await WalletLoad.prepare(store: store, wallets: wallets)
        let approveAll: @Sendable (ChargeAttemptFacts) -> Verdict = { _ in .approve }
        let randomIDs = requestIDs == .uuid
        let before = await store.writerStatistics()
        let cpuBefore = processCPUMicros()
        let start = ContinuousClock.now
        let deadline = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
        let (linkEveryMs, alertEveryMs) = (linkEveryMs, alertEveryMs)
        let approved = try await withThrowingTaskGroup(of: Int.self) { group in
            /// A side load beside the charges (not counted: it answers 0 of them): `step(n)` every `everyMs`.
            func sideLoad(everyMs: Int, _ step: @escaping @Sendable (Int) async throws -> Void) {
                guard everyMs > 0 else { return }
                group.addTask {
                    var n = 0
                    while ContinuousClock.now < deadline {
                        try await step(n)
                        n += 1
                        try await Task.sleep(for: .milliseconds(everyMs))
                    }
                    return 0
                }
            }
            // A new token on each load wallet in turn, as a bank links them.
            sideLoad(everyMs: linkEveryMs) { n in try await load.linkNewAccount(n) }
            // What refused TLS handshakes write: one alert per address (`MonitoringRules.tlsRefusals`).
            var refusals = MonitoringThresholds()
            refusals.tlsRefusalsMinRefusals = 1
            sideLoad(everyMs: alertEveryMs) { [refusals] n in
                if let signal = MonitoringRules.tlsRefusals(
                    address: "198.51.100.\(n % 256)", refusalsInWindow: 1, refusals)
                {
                    try await store.raiseAlert(signal)
                }
            }
            for caller in 0..<callers {
                group.addTask {
                    var count = 0
                    var n = 0
                    while ContinuousClock.now < deadline {
                        let requestID = randomIDs ? UUID().uuidString.lowercased() : "b\(caller)-\(n)"
                        let (request, body) = load.charge(requestID, linkIndex: caller + n)
                        let response = try await store.submitCharge(
                            request, bankCode: WalletLoad.bankCode, bodyDigest: body, decide: approveAll, sign: sign)
                        if response.decision == .approved { count += 1 }
                        n += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = start.duration(to: .now)
        let cpu = processCPUMicros() - cpuBefore
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var batches = await store.writerStatistics()
        batches.batchesCommitted -= before.batchesCommitted
        batches.writesCommitted -= before.writesCommitted
        batches.applying -= before.applying
        batches.committing -= before.committing
        batches.writerCPU -= before.writerCPU
        batches.factsRead -= before.factsRead
        return Cell(
            perSecond: Double(approved) / seconds, cpuMicrosPerCharge: cpu / Double(max(1, approved)),
            batches: batches, checkpoints: store.checkpointStatistics())
    }
}

/// This process's CPU time so far (user + system, /proc/self/stat fields 14 and 15), in microseconds.
private func processCPUMicros() -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) * 1e6 / Double(sysconf(Int32(_SC_CLK_TCK)))
}

private func figure(_ name: String, _ tag: String, _ value: Double) -> String {
    "wallet \(name) \(tag): " + String(format: "%.1f", value)
}

private func micros(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

/// `bankgw ledger load` (hidden): the crash test's child. Charges under concurrent load until killed, printing one
/// line per answer the moment it has it, so the parent knows exactly which approvals were reported.
///
/// Lines: `READY`, then `ANSWER <request_id> <decision> <charge_id>` and, for `--replay`, `REPLAY <request_id>
/// <decision> <charge_id>`.
struct LedgerLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Crash-test child: charge under load until killed.", shouldDisplay: false)

    @Option(name: .customLong("state-dir")) var stateDirectory: String
    @Option(help: "Distinguishes this run's request ids from earlier runs'.") var run: Int
    @Option var concurrency = 32
    @Option var wallets = 20
    @Option(help: "Stop by itself after this many seconds (a bound in case the parent dies).") var maxSeconds = 30.0
    @Option(help: "File of request ids answered by earlier runs to submit again first.") var replay: String?

    func run() async throws {
        let store = try WalletStore(stateDirectory: stateDirectory)
        let load = try await WalletLoad.prepare(store: store, wallets: wallets)
        if let replay {
            let ids = try String(contentsOfFile: replay, encoding: .utf8).split(separator: "\n").map(String.init)
            for line in ids {
                let parts = line.split(separator: " ").map(String.init)
                guard parts.count == 2, let linkIndex = Int(parts[1]) else { continue }
                let (request, body) = load.charge(parts[0], linkIndex: linkIndex)
                let response = try await store.submitCharge(
                    request, bankCode: WalletLoad.bankCode, bodyDigest: body, decide: WalletLoad.decide,
                    sign: WalletLoad.sign)
                emit("REPLAY \(parts[0]) \(response.decision) \(response.chargeID)")
            }
        }
        emit("READY")
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(maxSeconds * 1000)))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<concurrency {
                group.addTask {
                    var n = 0
                    while ContinuousClock.now < deadline {
                        let requestID = "r\(run)-\(caller)-\(n)"
                        let linkIndex = caller * 7 + n
                        let (request, body) = load.charge(requestID, linkIndex: linkIndex)
                        let response = try await store.submitCharge(
                            request, bankCode: WalletLoad.bankCode, bodyDigest: body, decide: WalletLoad.decide,
                            sign: WalletLoad.sign)
                        emit("ANSWER \(requestID) \(linkIndex) \(response.decision) \(response.chargeID)")
                        n += 1
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// One whole line per write(2), unbuffered: what the parent reads is exactly what was answered before the kill.
private func emit(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}
