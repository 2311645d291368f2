// swift-tools-version:6.0
//
// BankGateway: partner banks link accounts to the e-money wallet and push charges into it.
// One target per pipeline stage, in the order bytes flow:
//   socket → GatewayTLS → GatewayRPC (HTTP/2 + gRPC framing) → GatewayWire (protobuf-c codec)
//          → GatewayPolicy (mutual security checks) → WalletCore (durable ledger)
// GatewayService composes the stages into the served services; `bankgw` is the command line.
import PackageDescription

/// `any` spelled out for existentials (Swift 6 upcoming feature), on the targets whose owners have adopted it.
let existentialAny: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "BankGateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bankgw", targets: ["bankgw"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        // The monitoring console (SPEC §8, port 8444): HTTP routing and templates over the project's own TLS stage.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // MARK: C at the edge
        .systemLibrary(
            name: "CProtobufC",
            pkgConfig: "libprotobuf-c",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // The system libsqlite3 GRDB links, for the wallet core's direct statements (WalletCore/DirectStatement.swift).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // protoc-c output for Protos/: generated, DO NOT EDIT (`make protos` regenerates it).
        .target(
            name: "CBankGatewayProtos",
            dependencies: ["CProtobufC"],
            cSettings: [.unsafeFlags(["-Wno-everything"])],
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),

        // The only place besides GatewayTLS that touches libcrypto: keys (the one owner of EVP_PKEY), SHA-256,
        // HMAC-SHA-256 and the secret key files under it, secure random, receipt signer and verifier, the one
        // OpenSSL error-queue drain.
        .target(name: "GatewayCrypto", dependencies: ["COpenSSL"], swiftSettings: existentialAny),

        // MARK: Pipeline stages
        .target(
            name: "GatewayTLS",
            dependencies: [
                "COpenSSL", "GatewayCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: existentialAny
        ),
        .target(
            name: "GatewayRPC",
            dependencies: [
                "GatewayTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: existentialAny
        ),
        .target(
            name: "GatewayWire",
            dependencies: ["CBankGatewayProtos", "CProtobufC"],
            swiftSettings: existentialAny
        ),
        .target(
            name: "GatewayPolicy",
            dependencies: ["GatewayWire"],
            swiftSettings: existentialAny
        ),
        // The deployment's configuration file (`bankgw serve --config FILE`): parsed and range-checked apart from
        // the served stages, so its fuzzer (ConfigFuzz) builds without them.
        .target(name: "Deployment", dependencies: ["GatewayPolicy"], swiftSettings: existentialAny),
        .target(
            name: "WalletCore",
            dependencies: [
                "GatewayWire", "GatewayPolicy", "GatewayCrypto", "CSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: existentialAny
        ),
        .target(
            name: "GatewayService",
            dependencies: [
                "GatewayTLS", "GatewayRPC", "GatewayWire", "GatewayPolicy", "WalletCore", "GatewayCrypto",
                "Conformance", "CBankGatewayProtos", "Deployment",
                // `serve --demo` makes the development PKI on first start.
                "DevelopmentSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            swiftSettings: existentialAny
        ),
        // The monitoring console (SPEC §8): Hummingbird 2 + swift-mustache served over GatewayTLS (operator
        // certificates only); every action is the Admin operation, in-process.
        .target(
            name: "GatewayConsole",
            dependencies: [
                "GatewayService", "GatewayRPC", "GatewayTLS", "GatewayWire", "GatewayPolicy", "WalletCore",
                "GatewayCrypto",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: existentialAny
        ),
        // Development and benchmark helpers, kept out of the production stages: the development PKI (`bankgw pki
        // init`, the demo's certificates), the test.Echo service (transport tests and benchmarks) and the TLS
        // handler benchmark (`bankgw pki bench-tls`).
        .target(
            name: "DevelopmentSupport",
            dependencies: [
                "GatewayRPC", "GatewayTLS", "GatewayCrypto", "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: existentialAny
        ),
        // The per-bank conformance suite (SPEC §7 `bankgw conformance`): a client of the gateway, like a bank.
        .target(
            name: "Conformance",
            dependencies: [
                "GatewayRPC", "GatewayTLS", "GatewayWire", "GatewayCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: existentialAny
        ),
        .executableTarget(
            name: "bankgw",
            dependencies: [
                "GatewayService", "GatewayTLS", "GatewayRPC", "GatewayWire", "GatewayPolicy", "WalletCore",
                "Conformance", "Deployment",
                "GatewayConsole", "GatewayCrypto", "DevelopmentSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),

        // libFuzzer target over the request decoder (`make fuzz`). Built normally it replays the files it is given,
        // so the seed corpus also runs as a plain regression check.
        .executableTarget(
            name: "WireFuzz",
            dependencies: ["GatewayWire"],
            path: "Tests/Fuzz/WireFuzz"
        ),
        // The other parsers of outside bytes (`make fuzz` runs them all): gRPC request headers and deframer, the
        // configuration file, the JSON of `wire encode`. Each replays its seed corpus when built normally.
        .target(name: "FuzzSupport", path: "Tests/Fuzz/FuzzSupport"),
        .executableTarget(
            name: "RPCFuzz",
            dependencies: [
                "GatewayRPC", "FuzzSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ],
            path: "Tests/Fuzz/RPCFuzz"
        ),
        .executableTarget(
            name: "ConfigFuzz", dependencies: ["Deployment", "FuzzSupport"], path: "Tests/Fuzz/ConfigFuzz"),
        .executableTarget(
            name: "WireJSONFuzz", dependencies: ["GatewayWire", "FuzzSupport"], path: "Tests/Fuzz/WireJSONFuzz"),

        // `make bench`: the codec's figures (release build).
        .executableTarget(
            name: "WireBench",
            dependencies: ["GatewayWire"],
            path: "Tests/Benchmarks/WireBench"
        ),

        // MARK: Tests
        .testTarget(name: "GatewayCryptoTests", dependencies: ["GatewayCrypto"]),
        .testTarget(name: "DevelopmentSupportTests", dependencies: ["DevelopmentSupport", "GatewayTLS"]),
        // Test support: a SQLite VFS wrapping the default one whose xSync can be made to fail, for the wallet core's
        // fsync fault-injection test (GRDB links the system libsqlite3, so registering it as the default VFS reaches
        // the store's connections).
        .target(
            name: "CSQLiteFaultVFS", path: "Tests/Support/CSQLiteFaultVFS",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .testTarget(name: "GatewayWireTests", dependencies: ["GatewayWire", "CBankGatewayProtos", "CProtobufC"]),
        .testTarget(
            name: "GatewayTLSTests",
            dependencies: [
                "GatewayCrypto",
                "DevelopmentSupport",
                "GatewayTLS", "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GatewayRPCTests",
            dependencies: [
                "DevelopmentSupport",
                "GatewayRPC", "GatewayTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(name: "GatewayPolicyTests", dependencies: ["GatewayPolicy", "GatewayWire"]),
        .testTarget(
            name: "WalletCoreTests", dependencies: ["WalletCore", "GatewayWire", "GatewayPolicy", "CSQLiteFaultVFS"]),
        .testTarget(
            name: "ConformanceTests",
            dependencies: [
                "Conformance", "GatewayService", "GatewayPolicy", "GatewayRPC", "GatewayTLS", "GatewayWire",
                "WalletCore", "DevelopmentSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "GatewayServiceTests",
            dependencies: [
                "GatewayService", "GatewayWire", "GatewayRPC", "GatewayTLS", "WalletCore", "GatewayCrypto",
                "GatewayPolicy", "Conformance", "DevelopmentSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ]
)
