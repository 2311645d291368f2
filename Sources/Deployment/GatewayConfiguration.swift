import Foundation
import GatewayPolicy

/// The configuration file of a non-demo deployment (`bankgw serve --config FILE`): JSON, every key documented in
/// README.md, and every unknown key or wrong value refused at start-up with its path named — a typo must not
/// silently fall back to a default in a payments gateway.
public struct GatewayConfiguration: Sendable, Equatable {
    public struct Listen: Sendable, Equatable {
        public var tls = HostPort(host: "127.0.0.1", port: 8443)
        public var probe = HostPort(host: "127.0.0.1", port: 8081)
        public var metrics = HostPort(host: "127.0.0.1", port: 9464)
        /// The monitoring console (SPEC §1, §8): HTTPS, operator certificates only. Default 127.0.0.1:8444.
        public var console = HostPort(host: "127.0.0.1", port: 8444)
    }

    public struct HostPort: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { "\(host):\(port)" }
    }

    public struct TLSFiles: Sendable, Equatable {
        public var certificate: String
        public var privateKey: String
        public var partnerCA: String
        public var crl: String?
        /// The demo's `pki/crl.pem` may not exist yet (then no CRL until one is put there and SIGHUP reloads);
        /// never set from a configuration file, where a named `tls.crl` must exist.
        public var crlMayBeAbsent = false
        public var handshakeTimeoutMs: Int64 = 10_000

        public init(certificate: String, privateKey: String, partnerCA: String, crl: String? = nil) {
            self.certificate = certificate
            self.privateKey = privateKey
            self.partnerCA = partnerCA
            self.crl = crl
        }
    }

    /// A partner bank to register at start-up if it is not registered yet (PENDING for link and charge; an
    /// operator enables it after its conformance run).
    public struct Bank: Sendable, Equatable {
        public var code: String
        public var name: String
    }

    public var stateDirectory: String
    /// Default `<stateDirectory>/wallet.sqlite`.
    public var databasePath: String
    public var listen = Listen()
    public var tls: TLSFiles
    /// The receipt signing key (ECDSA P-256, PEM). Its public half is published as `receiptPublicKey`.
    public var receiptKey: String
    public var receiptPublicKey: String?
    public var shutdownGraceMs: Int64 = 10_000
    public var maxConnections = 1_000
    public var maxConcurrentStreams = 100
    /// The profile given to banks registered from this file.
    public var bankDefaults = BankProfile()
    public var banks: [Bank] = []
    public var logLevel = "info"
    /// SPEC §8: the monitoring rules' thresholds and four eyes (`monitoring` object; README lists the keys).
    public var monitoring = MonitoringThresholds()

    public init(stateDirectory: String, databasePath: String, tls: TLSFiles, receiptKey: String) {
        self.stateDirectory = stateDirectory
        self.databasePath = databasePath
        self.tls = tls
        self.receiptKey = receiptKey
    }

    public struct Failure: Error, CustomStringConvertible, Equatable {
        /// The key path, e.g. `listen.tls` or `bankDefaults.maxChargeYen`.
        public var key: String
        public var problem: String
        public var description: String { "configuration: \(key): \(problem)" }
    }

    public static func load(path: String) throws -> GatewayConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(key: "(file)", problem: "cannot read \(path)")
        }
        return try parse(data)
    }

    public static func parse(_ data: Data) throws -> GatewayConfiguration {
        var object = try Object(try jsonRoot(data), path: "")
        let stateDirectory = try object.string("stateDirectory")
        let tlsObject = try object.object("tls")
        var tlsKeys = tlsObject
        var tls = TLSFiles(
            certificate: try tlsKeys.string("certificate"), privateKey: try tlsKeys.string("privateKey"),
            partnerCA: try tlsKeys.string("partnerCA"), crl: try tlsKeys.optionalString("crl"))
        if let timeout = try tlsKeys.optionalInt("handshakeTimeoutMs", in: 100...120_000) {
            tls.handshakeTimeoutMs = timeout
        }
        try tlsKeys.finish()

        var configuration = GatewayConfiguration(
            stateDirectory: stateDirectory,
            databasePath: try object.optionalString("database") ?? stateDirectory + "/wallet.sqlite",
            tls: tls, receiptKey: try object.string("receiptKey"))
        configuration.receiptPublicKey = try object.optionalString("receiptPublicKey")
        if var listen = try object.optionalObject("listen") {
            if let value = try listen.optionalHostPort("tls") { configuration.listen.tls = value }
            if let value = try listen.optionalHostPort("probe") { configuration.listen.probe = value }
            if let value = try listen.optionalHostPort("metrics") { configuration.listen.metrics = value }
            if let value = try listen.optionalHostPort("console") { configuration.listen.console = value }
            try listen.finish()
        }
        if let grace = try object.optionalInt("shutdownGraceMs", in: 0...300_000) {
            configuration.shutdownGraceMs = grace
        }
        if let value = try object.optionalInt("maxConnections", in: 1...100_000) {
            configuration.maxConnections = Int(value)
        }
        if let value = try object.optionalInt("maxConcurrentStreams", in: 1...10_000) {
            configuration.maxConcurrentStreams = Int(value)
        }
        if let level = try object.optionalString("logLevel") {
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
                throw Failure(
                    key: "logLevel", problem: "must be one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = level
        }
        if var defaults = try object.optionalObject("bankDefaults") {
            var profile = BankProfile()
            let yen = 1...Int64(1_000_000_000)
            if let v = try defaults.optionalInt("maxChargeYen", in: yen) { profile.maxChargeYen = v }
            if let v = try defaults.optionalInt("maxDailyYenPerWallet", in: yen) { profile.maxDailyYenPerWallet = v }
            if let v = try defaults.optionalInt("maxMonthlyYenPerWallet", in: yen) {
                profile.maxMonthlyYenPerWallet = v
            }
            if let v = try defaults.optionalInt("newLinkMaxChargeYen", in: yen) { profile.newLinkMaxChargeYen = v }
            if let v = try defaults.optionalInt("newLinkCautionMs", in: 0...Int64(30 * 86_400_000)) {
                profile.newLinkCautionMs = v
            }
            if let v = try defaults.optionalBool("chargeRequiresCustomerAuth") {
                profile.chargeRequiresCustomerAuth = v
            }
            if let v = try defaults.optionalInt(
                "maxRequestsPerSecond", in: 1...BankRateLimiter.maxRequestsPerSecondLimit)
            {
                profile.maxRequestsPerSecond = v
            }
            try defaults.finish()
            configuration.bankDefaults = profile
        }
        if let banks = try object.optionalArray("banks") {
            configuration.banks = try banks.enumerated().map { index, element in
                var bank = try Object(element, path: "banks[\(index)]")
                let code = try bank.string("code")
                guard code.utf8.count == 4, code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                    throw Failure(
                        key: "banks[\(index)].code", problem: "must be the 4-digit bank code, got \"\(code)\"")
                }
                let result = Bank(code: code, name: try bank.string("name"))
                try bank.finish()
                return result
            }
        }
        if let monitoring = try object.optionalObject("monitoring") {
            configuration.monitoring = try parseMonitoring(monitoring)
        }
        try object.finish()
        return configuration
    }

    /// The `monitoring` object alone (also the whole of a `serve --monitoring FILE`).
    public static func parseMonitoring(_ data: Data) throws -> MonitoringThresholds {
        try parseMonitoring(try Object(try jsonRoot(data), path: "monitoring"))
    }

    /// The file's JSON value, or the one error both file formats give for bytes that are not JSON.
    private static func jsonRoot(_ data: Data) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Failure(key: "(file)", problem: "not valid JSON: \(error.localizedDescription)")
        }
    }

    private static func parseMonitoring(_ object: Object) throws -> MonitoringThresholds {
        var keys = object
        var t = MonitoringThresholds()
        let day = Int64(86_400_000)
        let count = Int64(1)...Int64(1_000_000)
        let yen = Int64(1)...Int64(1_000_000_000)
        if let v = try keys.optionalBool("rulesEnabled") { t.rulesEnabled = v }
        if let v = try keys.optionalInt("accountManyWalletsMinWallets", in: 2...1_000) {
            t.accountManyWalletsMinWallets = Int(v)
        }
        if let v = try keys.optionalInt("accountManyWalletsWindowMs", in: 1...(365 * day)) {
            t.accountManyWalletsWindowMs = v
        }
        if let v = try keys.optionalInt("walletManyAccountsMinTokens", in: 2...1_000) {
            t.walletManyAccountsMinTokens = Int(v)
        }
        if let v = try keys.optionalInt("walletManyAccountsWindowMs", in: 1...(365 * day)) {
            t.walletManyAccountsWindowMs = v
        }
        if let v = try keys.optionalInt("walletVelocityMinYen", in: yen) { t.walletVelocityMinYen = v }
        if let v = try keys.optionalInt("walletVelocityWindowMs", in: 1...(30 * day)) { t.walletVelocityWindowMs = v }
        if let v = try keys.optionalInt("linkThenDrainWindowMs", in: 1...(30 * day)) { t.linkThenDrainWindowMs = v }
        if let v = try keys.optionalInt("linkThenDrainPercentOfDailyLimit", in: 1...100) {
            t.linkThenDrainPercentOfDailyLimit = v
        }
        if let v = try keys.optionalInt("declineBurstMinDeclines", in: count) { t.declineBurstMinDeclines = Int(v) }
        if let v = try keys.optionalInt("declineBurstMinPercentOfDecisions", in: 0...100) {
            t.declineBurstMinPercentOfDecisions = Int(v)
        }
        if let v = try keys.optionalInt("declineBurstWindowMs", in: 10_000...day) { t.declineBurstWindowMs = v }
        if let v = try keys.optionalInt("tlsRefusalsMinRefusals", in: count) { t.tlsRefusalsMinRefusals = Int(v) }
        if let v = try keys.optionalInt("tlsRefusalsWindowMs", in: 1_000...day) { t.tlsRefusalsWindowMs = v }
        if let v = try keys.optionalInt("holdOverdueAfterMs", in: 0...(30 * day)) { t.holdOverdueAfterMs = v }
        if let v = try keys.optionalInt("holdOverdueHighAfterMs", in: 0...(30 * day)) { t.holdOverdueHighAfterMs = v }
        if let v = try keys.optionalInt("holdSweepIntervalMs", in: 100...day) { t.holdSweepIntervalMs = v }
        if let v = try keys.optionalInt("fourEyesMinHoldReleaseYen", in: yen) { t.fourEyesMinHoldReleaseYen = v }
        if let v = try keys.optionalInt("approvalLapseMs", in: 1...(30 * day)) { t.approvalLapseMs = v }
        try keys.finish()
        guard t.holdOverdueHighAfterMs >= t.holdOverdueAfterMs else {
            throw Failure(key: "monitoring.holdOverdueHighAfterMs", problem: "must be at least holdOverdueAfterMs")
        }
        return t
    }

    /// A JSON object read key by key; `finish()` refuses whatever key was not read.
    private struct Object {
        var values: [String: Any]
        let path: String
        var read: Set<String> = []

        init(_ value: Any, path: String) throws {
            guard let values = value as? [String: Any] else {
                throw Failure(key: path.isEmpty ? "(top level)" : path, problem: "must be a JSON object")
            }
            self.values = values
            self.path = path
        }

        private func key(_ name: String) -> String { path.isEmpty ? name : path + "." + name }

        private mutating func take(_ name: String) -> Any? {
            read.insert(name)
            guard let value = values[name], !(value is NSNull) else { return nil }
            return value
        }

        mutating func string(_ name: String) throws -> String {
            guard let value = try optionalString(name) else { throw Failure(key: key(name), problem: "is required") }
            return value
        }

        mutating func optionalString(_ name: String) throws -> String? {
            guard let value = take(name) else { return nil }
            guard let string = value as? String, !string.isEmpty else {
                throw Failure(key: key(name), problem: "must be a non-empty string")
            }
            return string
        }

        mutating func optionalBool(_ name: String) throws -> Bool? {
            guard let value = take(name) else { return nil }
            guard let number = value as? NSNumber, type(of: number) == type(of: NSNumber(value: true)) else {
                throw Failure(key: key(name), problem: "must be true or false")
            }
            return number.boolValue
        }

        mutating func optionalInt(_ name: String, in range: ClosedRange<Int64>) throws -> Int64? {
            guard let value = take(name) else { return nil }
            guard let number = value as? NSNumber, type(of: number) != type(of: NSNumber(value: true)),
                number.doubleValue.rounded() == number.doubleValue, range.contains(number.int64Value)
            else {
                throw Failure(
                    key: key(name), problem: "must be a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return number.int64Value
        }

        mutating func object(_ name: String) throws -> Object {
            guard let value = try optionalObject(name) else { throw Failure(key: key(name), problem: "is required") }
            return value
        }

        mutating func optionalObject(_ name: String) throws -> Object? {
            guard let value = take(name) else { return nil }
            return try Object(value, path: key(name))
        }

        mutating func optionalArray(_ name: String) throws -> [Any]? {
            guard let value = take(name) else { return nil }
            guard let array = value as? [Any] else { throw Failure(key: key(name), problem: "must be a JSON array") }
            return array
        }

        mutating func optionalHostPort(_ name: String) throws -> HostPort? {
            guard let text = try optionalString(name) else { return nil }
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                (0...65_535).contains(port), colon != text.startIndex
            else {
                throw Failure(key: key(name), problem: "must be HOST:PORT, got \"\(text)\"")
            }
            return HostPort(host: String(text[..<colon]), port: port)
        }

        func finish() throws {
            if let unknown = values.keys.sorted().first(where: { !read.contains($0) }) {
                throw Failure(key: key(unknown), problem: "unknown key")
            }
        }
    }
}
