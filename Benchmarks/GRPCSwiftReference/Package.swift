// swift-tools-version:6.1
//
// The grpc-swift-2 reference server of `make bench` (issue 14): grpc.health.v1.Health/Check answered with the
// fixed bytes 08 01 (SERVING) through a raw-bytes serializer, over h2c or mutual TLS (NIOSSL). A package of its own,
// outside the gateway's package graph; built by scripts/bench/build-reference.sh into .build-reference/.
import PackageDescription

let package = Package(
    name: "GRPCSwiftReference",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "grpc-swift-reference",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        )
    ]
)
