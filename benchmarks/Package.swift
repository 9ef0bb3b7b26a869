// swift-tools-version: 6.2
import Foundation
import PackageDescription

// The root package, named as SwiftPM names a path dependency: by its directory (a clone need not
// be called `main`; with the name written here, a checkout in any other directory failed to build).
// SwiftPM drops a ".git" suffix from that name.
let rootDirectory = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent
let root = rootDirectory.hasSuffix(".git") ? String(rootDirectory.dropLast(4)) : rootDirectory

// The same settings as the root package.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "almanac-benchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "almanac-bench", targets: ["AlmanacBench"])
    ],
    dependencies: [
        .package(path: ".."),
        // Only the interposer trait: the default RuntimeInterposer trait pulls a package that is not needed here.
        .package(
            url: "https://github.com/ordo-one/benchmark.git",
            from: "1.38.1",
            traits: ["MallocInterposer"]
        ),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Realistic synthetic calendars, shared by the harness and the micro-benchmarks.
        .target(
            name: "Workload",
            dependencies: [.product(name: "Domain", package: root), .product(name: "Projector", package: root)],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "AlmanacBench",
            dependencies: [
                "Workload",
                .product(name: "Domain", package: root),
                .product(name: "ICal", package: root),
                .product(name: "EventStore", package: root),
                .product(name: "Projector", package: root),
                .product(name: "Bus", package: root),
                .product(name: "API", package: root),
                .product(name: "Relay", package: root),
                .product(name: "Runtime", package: root),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ICalWriter",
            dependencies: [
                "Workload",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Domain", package: root),
                .product(name: "ICal", package: root),
                .product(name: "Projector", package: root),
            ],
            path: "Benchmarks/ICalWriter",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Projection",
            dependencies: [
                "Workload",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Domain", package: root),
                .product(name: "Projector", package: root),
            ],
            path: "Benchmarks/Projection",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
