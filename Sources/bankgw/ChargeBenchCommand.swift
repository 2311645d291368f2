import ArgumentParser
import Foundation
import GatewayRPC
import GatewayTLS
import GatewayWire
import Histogram
import NIOCore
import NIOPosix

/// `bankgw bench-charge`: Charge req/s and latency against a demo gateway over mutual TLS, with the health Check
/// of the same run beside it, so the cost of policy + ledger shows as a ratio (issue 6).
///
/// It prepares what the APPROVED path needs first, as the operator: the bank's profile sized for the load (high
/// limits, no new-link caution, a rate limit above the load), verified wallets, and enough links that no link sees a
/// 4th charge within 10 minutes (which the monitoring rules would hold). Then it prints how many answers were
/// APPROVED, HELD and DECLINED, so a figure for the wrong path cannot pass for the right one.
struct ChargeBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-charge",
        abstract: "Charge and health req/s over mutual TLS against a demo gateway (prepares its own wallets and links)."
    )

    @Option(help: "The demo gateway's state directory (its PKI).")
    var stateDir = ".bankgw-demo"
    @Option(help: "host:port of the gateway's TLS listener.")
    var target = "127.0.0.1:8443"
    @Option(help: "The bank whose certificate to present (must be ENABLED; 9900 in the demo).")
    var bank = "9900"
    @Option(help: "Connections.")
    var connections = 4
    @Option(help: "Concurrent calls per connection.")
    var streams = 32
    @Option(help: "Seconds per phase (health, then charge).")
    var duration = 5.0
    @Option(help: "Links to spread the charges over (each takes at most 3 charges).")
    var links = 6_000
    @Option(help: "Pace the Charge phase at this many calls/s (0: closed loop, as fast as the streams go).")
    var rate = 0.0
    @Flag(
        help: """
            After the Charge phase, a paced Charge phase at half its measured rate (issue 14's p99 figure), then a \
            paced health phase at that rate.
            """)
    var halfRate = false
    @Option(help: "PID of the gateway (same machine): print its CPU (/proc utime+stime) per call for each phase.")
    var serverPid: Int32?

    func validate() throws {
        guard (1...256).contains(connections), (1...1_000).contains(streams) else {
            throw ValidationError("--connections 1...256, --streams 1...1000")
        }
        guard duration > 0 && duration <= 600 else { throw ValidationError("--duration in (0, 600]") }
        guard (3...200_000).contains(links) else { throw ValidationError("--links 3...200000") }
        guard rate >= 0 && rate <= 10_000_000 else { throw ValidationError("--rate in 0...10000000 calls/s") }
    }

    func run() async throws {
        let pki = DevelopmentPKI.Layout(stateDirectory: stateDir)
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]) else {
            throw ValidationError("--target is HOST:PORT")
        }
        let host = String(target[..<colon])
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        func connect(cert: String, key: String) async throws -> RPCClientConnection {
            let tls = try TLSClientContext(
                configuration: TLSClientConfiguration(
                    trustRootsPath: pki.caCertificate, certificateChainPath: cert, privateKeyPath: key))
            do {
                return try await RPCClientConnection.connect(
                    host: host, port: port,
                    configureSecurity: { channel in
                        try channel.pipeline.syncOperations.addHandler(tls.makeHandler(serverHostname: "localhost"))
                    }, group: group)
            } catch {
                printError("bench-charge: cannot reach \(target): \(error)")
                throw ExitCode.unreachable
            }
        }
        let admin = try await connect(cert: pki.operatorCertificate, key: pki.operatorKey)
        var clients: [RPCClientConnection] = []
        for _ in 0..<connections {
            clients.append(try await connect(cert: pki.bankCertificate(bank), key: pki.bankKey(bank)))
        }

        let prepared = try await prepare(admin: admin, bankClient: clients[0])
        print(
            "bench-charge: \(connections) connections × \(streams) streams, \(duration) s a phase, bank \(bank), "
                + "\(prepared.count) links prepared over mutual TLS to \(target)")

        let healthRequest = try HealthCheckRequest(service: "").wireBytes()
        let health = await phase(clients, rate: 0) { _ in (HealthMethods.check.path, healthRequest) }
        report("health Check", health, key: "health")

        let runID = UInt64(Date().timeIntervalSince1970 * 1000)
        let counter = Counter()
        let makeCharge: @Sendable (Int) -> (String, [UInt8]) = { [bank] _ in
            let n = counter.next()
            let request = ChargeRequest(
                header: RequestHeader(
                    bankCode: bank, requestID: "bench-\(runID)-\(n)",
                    sentAtUnixMs: Int64(Date().timeIntervalSince1970 * 1000)),
                linkID: prepared[n % prepared.count], amountYen: 1)
            return (BankGatewayMethods.charge.path, try! request.wireBytes())
        }
        let charges = await phase(clients, rate: rate, makeCharge)
        report(rate > 0 ? String(format: "Charge at %.0f/s", rate) : "Charge", charges, key: "charge")
        print(
            String(
                format: "Charge / health throughput: %.2f (the cost of policy + durable ledger per call)",
                charges.perSecond / max(health.perSecond, 1)))
        if charges.decisions[Decision.approved] ?? 0 < charges.ok * 9 / 10 {
            print("warning: fewer than 90% APPROVED: the figure above is not the APPROVED path")
        }
        if halfRate {
            // Issue 14: p99 at half the peak rate, paced (latency from each call's scheduled start, so a stall shows).
            let half = charges.perSecond / 2
            let paced = await phase(clients, rate: half, makeCharge)
            report(String(format: "Charge at half the peak (%.0f/s)", half), paced, key: "charge-half")
            // The same pacing for the health Check: the tail the transport, the client and the box give any call,
            // beside which the Charge's own share of its p99 shows.
            let pacedHealth = await phase(clients, rate: half) { _ in (HealthMethods.check.path, healthRequest) }
            report(String(format: "health Check at the same rate (%.0f/s)", half), pacedHealth, key: "health-half")
        }
        for client in clients { await client.close() }
        await admin.close()
        try await group.shutdownGracefully()
    }

    /// Profile sized for the load; `links` links over verified wallets (80 per wallet, distinct tokens).
    private func prepare(admin: RPCClientConnection, bankClient: RPCClientConnection) async throws -> [String] {
        var profile = AdminBankProfile()
        profile.maxChargeYen = 300_000
        profile.maxDailyYenPerWallet = 1_000_000_000
        profile.maxMonthlyYenPerWallet = 1_000_000_000
        profile.newLinkMaxChargeYen = 300_000
        profile.newLinkCautionMs = 1
        profile.maxRequestsPerSecond = 1_000_000
        var setProfile = SetBankProfileRequest()
        setProfile.bankCode = bank
        setProfile.profile = profile
        setProfile.reason = "bench-charge: limits sized for the load"
        _ = try await call(admin, AdminMethods.setBankProfile, setProfile, as: AdminBank.self)

        let runID = Int(Date().timeIntervalSince1970) % 1_000_000
        let linksPerWallet = 80
        let walletCount = (links + linksPerWallet - 1) / linksPerWallet
        var prepared: [String] = []
        prepared.reserveCapacity(links)
        for w in 0..<walletCount {
            let walletID = String(format: "W7%06d", (runID * 7 + w) % 1_000_000)
            let register = RegisterWalletRequest(walletAccountID: walletID, test: false, reason: "bench-charge")
            _ = try? await call(admin, AdminMethods.registerWallet, register, as: AdminWallet.self)
            var ekyc = RecordEkycRequest()
            ekyc.walletAccountID = walletID
            ekyc.status = .verified
            ekyc.method = .heICChipAndSelfie
            ekyc.nameKana = "ベンチ タロウ"
            ekyc.verifiedAtUnixMs = Int64(Date().timeIntervalSince1970 * 1000)
            ekyc.reason = "bench-charge"
            _ = try await call(admin, AdminMethods.recordEkyc, ekyc, as: AdminWallet.self)
            _ = try await call(
                admin, AdminMethods.markPhoneVerified,
                MarkPhoneVerifiedRequest(walletAccountID: walletID, reason: "bench-charge"), as: AdminWallet.self)
            let count = min(linksPerWallet, links - prepared.count)
            try await withThrowingTaskGroup(of: String?.self) { tasks in
                for l in 0..<count {
                    tasks.addTask {
                        let code = try await call(
                            admin, AdminMethods.issueLinkCode, IssueLinkCodeRequest(walletAccountID: walletID),
                            as: IssueLinkCodeResponse.self
                        ).linkCode
                        let now = Int64(Date().timeIntervalSince1970 * 1000)
                        let link = LinkAccountRequest(
                            header: RequestHeader(
                                bankCode: bank, requestID: "bench-link-\(walletID)-\(l)-\(now)", sentAtUnixMs: now),
                            walletAccountID: walletID, linkCode: code,
                            bankAccountToken: "bench-\(walletID)-\(l)-\(now)",
                            accountHolderKana: "ﾍﾞﾝﾁ ﾀﾛｳ",
                            customerAuth: CustomerAuth(
                                method: .appPush, authenticatedAtUnixMs: now, authReference: "bench"))
                        let response = try await call(
                            bankClient, BankGatewayMethods.linkAccount, link, as: LinkAccountResponse.self)
                        return response.decision == .approved ? response.linkID : nil
                    }
                }
                for try await linkID in tasks { if let linkID { prepared.append(linkID) } }
            }
        }
        guard prepared.count >= 3 else {
            printError("bench-charge: could not prepare links (is bank \(bank) ENABLED for link?)")
            throw ExitCode.checkFailed
        }
        return prepared
    }

    private func call<Request: WireMessage, Response: WireMessage>(
        _ client: RPCClientConnection, _ method: WireMethod<Request, Response>, _ request: Request, as: Response.Type
    ) async throws -> Response {
        let path = method.path
        let result = await client.unary(
            path: path, message: ByteBuffer(bytes: try request.wireBytes()), timeout: .seconds(10))
        guard let message = result.message else {
            printError("bench-charge: \(path): \(result.status)")
            throw ExitCode.checkFailed
        }
        return try message.withUnsafeReadableBytes { try Response(wireBytes: $0) }
    }

    struct PhaseResult {
        var ok = 0
        var calls = 0
        var errors: [String: Int] = [:]
        var decisions: [Decision: Int] = [:]
        var perSecond = 0.0
        var targetRate = 0.0
        var serverCPUSeconds: Double?
        var latencyMicros = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    }

    /// `connections × streams` call loops for `duration` seconds. Closed loop (`rate` 0): each loop starts its next
    /// call when the last one ends. Paced (`rate` > 0): call k is scheduled at start + k/rate and its latency counts
    /// from that scheduled time (a slow server cannot hide its queue by slowing the load down); the loops only bound
    /// how many calls can be outstanding.
    private func phase(
        _ clients: [RPCClientConnection], rate: Double, _ makeRequest: @escaping @Sendable (Int) -> (String, [UInt8])
    ) async -> PhaseResult {
        let stopAt = Date().addingTimeInterval(duration)
        let started = Date()
        let startedNanos = DispatchTime.now().uptimeNanoseconds
        let stopNanos = startedNanos + UInt64(duration * 1e9)
        let tickets = Counter()
        let cpuBefore = serverPid.flatMap { ServerCPU.seconds(pid: $0) }
        let results = await withTaskGroup(of: PhaseResult.self) { tasks in
            for client in clients {
                for s in 0..<streams {
                    tasks.addTask {
                        var tally = PhaseResult()
                        while Date() < stopAt {
                            var begin = DispatchTime.now().uptimeNanoseconds
                            if rate > 0 {
                                let scheduled = startedNanos + UInt64(Double(tickets.next() - 1) * 1e9 / rate)
                                if scheduled >= stopNanos { break }
                                if scheduled > begin {
                                    try? await Task.sleep(nanoseconds: scheduled - begin)
                                }
                                begin = scheduled
                            }
                            let (path, bytes) = makeRequest(s)
                            let result = await client.unary(
                                path: path, message: ByteBuffer(bytes: bytes), timeout: .seconds(10))
                            let micros = (DispatchTime.now().uptimeNanoseconds - begin) / 1_000
                            _ = tally.latencyMicros.record(max(micros, 1))
                            tally.calls += 1
                            if let message = result.message {
                                tally.ok += 1
                                if path.hasSuffix("/Charge"),
                                    let response = try? message.withUnsafeReadableBytes({
                                        try ChargeResponse(wireBytes: $0)
                                    })
                                {
                                    tally.decisions[response.decision, default: 0] += 1
                                }
                            } else {
                                tally.errors[result.status.code.name, default: 0] += 1
                            }
                        }
                        return tally
                    }
                }
            }
            var total = PhaseResult()
            for await tally in tasks {
                total.ok += tally.ok
                total.calls += tally.calls
                total.errors.merge(tally.errors, uniquingKeysWith: +)
                total.decisions.merge(tally.decisions, uniquingKeysWith: +)
                total.latencyMicros.add(tally.latencyMicros)
            }
            return total
        }
        var result = results
        if let cpuBefore, let pid = serverPid, let cpuAfter = ServerCPU.seconds(pid: pid) {
            result.serverCPUSeconds = cpuAfter - cpuBefore
        }
        result.perSecond = Double(result.ok) / Date().timeIntervalSince(started)
        result.targetRate = rate
        return result
    }

    private func report(_ name: String, _ result: PhaseResult, key: String) {
        let h = result.latencyMicros
        print(
            String(format: "%@: %.0f req/s OK", name, result.perSecond)
                + "  latency µs p50 \(h.valueAtPercentile(50)) p90 \(h.valueAtPercentile(90)) p99 \(h.valueAtPercentile(99))"
                + " p99.9 \(h.valueAtPercentile(99.9))")
        if !result.decisions.isEmpty {
            print(
                "  decisions: APPROVED \(result.decisions[.approved] ?? 0), HELD \(result.decisions[.held] ?? 0), "
                    + "DECLINED \(result.decisions[.declined] ?? 0)")
        }
        if !result.errors.isEmpty {
            print(
                "  errors: "
                    + result.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        // One line for scripts (scripts/bench/issue14.py): key=value, times in ms, CPU in µs per completed call.
        let errors = result.errors.values.reduce(0, +)
        var line = String(
            format: "BENCH tool=bench-charge phase=%@ rate=%.0f calls=%d ok=%d req_per_s=%.1f p50_ms=%.3f p99_ms=%.3f "
                + "approved=%d held=%d declined=%d errors=%d",
            key, result.targetRate, result.calls, result.ok, result.perSecond,
            Double(h.valueAtPercentile(50)) / 1000, Double(h.valueAtPercentile(99)) / 1000,
            result.decisions[.approved] ?? 0, result.decisions[.held] ?? 0, result.decisions[.declined] ?? 0, errors)
        if let cpu = result.serverCPUSeconds {
            line += String(
                format: " server_cpu_s=%.3f server_cpu_us_per_call=%.2f", cpu,
                result.calls > 0 ? cpu * 1e6 / Double(result.calls) : 0)
        }
        print(line)
    }
}

/// A shared call counter for request ids.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}
