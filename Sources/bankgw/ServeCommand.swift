import ArgumentParser
import Foundation
import GatewayRPC
import GatewayService
import GatewayTLS
import Logging
import ServiceLifecycle
import WalletCore

/// `bankgw serve [--config FILE] [--demo] [--state-dir DIR]` (SPEC §7).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: TLS gRPC on 8443, the h2c health probe on 8081, metrics on 9464 (SPEC §1).",
        discussion: """
            --demo creates (on first start) and uses the SPEC §6 demo state under --state-dir: the development PKI \
            and the demo registry. --config FILE runs a deployment described by a JSON file (README.md lists every \
            key); a wrong key or value is refused at start-up, naming the key (exit 65). SIGTERM drains gracefully \
            (health NOT_SERVING, GOAWAY, in-flight calls finish within the grace period) and exits 0; SIGHUP \
            reloads the TLS certificates, CA and CRL.
            """
    )

    @Option(help: "Configuration file (JSON) for a non-demo deployment.")
    var config: String?

    @Flag(help: "Create and use the SPEC §6 demo state.")
    var demo = false

    @Option(help: "State directory of the demo (PKI, database).")
    var stateDir = ".bankgw-demo"

    @Option(help: "Override the TLS listener port (0: ephemeral; tests).")
    var tlsPort: Int?

    @Option(help: "Override the h2c health probe port (0: ephemeral; tests).")
    var probePort: Int?

    @Option(help: "Override the metrics port (0: ephemeral; tests).")
    var metricsPort: Int?

    @Option(help: "Seconds in-flight calls may run after SIGTERM (demo; a config file says shutdownGraceMs).")
    var shutdownGraceSeconds: Int64 = 10

    @Option(help: "Write the bound ports as JSON to this file once serving (tests, supervisors).")
    var readyFile: String?

    @Option(help: "text (a terminal) or json (one object a line: time, level, message, bank, request_id, trace_id).")
    var logFormat: LogFormat = .text

    @Option(help: "Override the log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String?

    func validate() throws {
        guard demo != (config != nil) else {
            throw ValidationError("give exactly one of --demo (SPEC §6 demo state) and --config FILE")
        }
        guard shutdownGraceSeconds >= 0 && shutdownGraceSeconds <= 300 else {
            throw ValidationError("--shutdown-grace-seconds must be 0...300")
        }
        for (name, port) in [("--tls-port", tlsPort), ("--probe-port", probePort), ("--metrics-port", metricsPort)] {
            if let port, !(0...65_535).contains(port) { throw ValidationError("\(name) must be 0...65535") }
        }
    }

    func run() async throws {
        let deployment: GatewayConfiguration
        if let config {
            do {
                deployment = try GatewayConfiguration.load(path: config)
            } catch {
                printError("bankgw serve: \(config): \(error)")
                throw ExitCode.badInput
            }
        } else {
            deployment = try GatewayAssembly.demoConfiguration(
                stateDirectory: stateDir, graceMs: shutdownGraceSeconds * 1_000)
        }
        guard let level = Logger.Level(rawValue: logLevel ?? deployment.logLevel) else {
            printError("bankgw serve: --log-level must be one of \(Logger.Level.allCases.map(\.rawValue))")
            throw ExitCode.usage
        }
        logFormat.bootstrap(level: level)
        let logger = Logger(label: "bankgw")

        var options = GatewayAssembly.Options()
        options.seedDemo = demo
        options.registrationSource = config ?? "the configuration"
        let assembly: GatewayAssembly
        do {
            assembly = try await GatewayAssembly.build(configuration: deployment, options: options, logger: logger)
        } catch let error as WalletError {
            logger.error("wallet store unavailable: \(error)")
            throw ExitCode(1)
        } catch let error as GatewayAssembly.StartupError {
            printError("bankgw serve: \(error)")
            throw ExitCode.badInput
        } catch {
            logger.error("start-up failed: \(error)")
            throw ExitCode(1)
        }
        var listeners = assembly.listeners
        if let tlsPort { listeners.tlsPort = tlsPort }
        if let probePort { listeners.probePort = probePort }
        if let metricsPort { listeners.metricsPort = metricsPort }

        let readyFile = self.readyFile
        let server = assembly.makeServer(listeners: listeners) { tlsPort, probePort, metricsPort in
            guard let readyFile else { return }
            let json = #"{"tls":\#(tlsPort),"probe":\#(probePort),"metrics":\#(metricsPort)}"#
            FileManager.default.createFile(atPath: readyFile, contents: Data(json.utf8))
        }
        let group = ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger
        )
        try await group.run()
    }
}

extension LogFormat: ExpressibleByArgument {}
