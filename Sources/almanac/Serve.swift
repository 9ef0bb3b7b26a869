import API
import ArgumentParser
import Foundation
import Logging
import Runtime

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the HTTP API (and, by default, the embedded projector)."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Address to bind (env ALMANAC_HOSTNAME).")
    var hostname: String = ProcessInfo.processInfo.environment["ALMANAC_HOSTNAME"] ?? "127.0.0.1"

    @Option(help: "Port to bind (env ALMANAC_PORT).")
    var port: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_PORT"] ?? "") ?? 6400

    @Option(
        help: "api-key (Authorization: Bearer <key>) or none (single user `default`, loopback only). Env ALMANAC_AUTH."
    )
    var auth: String = ProcessInfo.processInfo.environment["ALMANAC_AUTH"] ?? "api-key"

    @Option(
        help:
            "Externally visible base URL for feed and task links, e.g. https://cal.example.com (env ALMANAC_PUBLIC_URL). Default: from the Host header."
    )
    var publicURL: String?

    @Option(help: "Byte budget of the in-memory feed cache, in MiB (env ALMANAC_FEED_CACHE_MB).")
    var feedCacheMB: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_FEED_CACHE_MB"] ?? "") ?? 256

    @Option(
        help:
            "zlib level of the cached gzip feeds, 1 (fastest) to 9 (smallest); 1 compresses a feed in less than half the time for about 20 % more bytes (env ALMANAC_FEED_GZIP_LEVEL)."
    )
    var feedGzipLevel: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_FEED_GZIP_LEVEL"] ?? "") ?? 6

    @Option(help: "Seconds a connection may send nothing before it is closed (env ALMANAC_IDLE_TIMEOUT).")
    var idleTimeout: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_IDLE_TIMEOUT"] ?? "") ?? 30

    @Option(help: "Connections served at once; more wait to be accepted (env ALMANAC_MAX_CONNECTIONS).")
    var maxConnections: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_MAX_CONNECTIONS"] ?? "") ?? 1024

    @Option(
        help:
            "Seconds a graceful shutdown (SIGTERM) may take before work is cancelled; 5 s more and the process stops hard (env ALMANAC_SHUTDOWN_TIMEOUT)."
    )
    var shutdownTimeout: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_SHUTDOWN_TIMEOUT"] ?? "") ?? 5

    @Option(
        help:
            "Seconds to produce a response before answering 503 Retry-After, e.g. while the database is unreachable (env ALMANAC_REQUEST_TIMEOUT)."
    )
    var requestTimeout: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_REQUEST_TIMEOUT"] ?? "") ?? 10

    @Option(
        help:
            "GET /api/v1/ready answers 503 while more events than this lie after the readiness checkpoint; 0: not checked (env ALMANAC_READY_MAX_LAG_EVENTS)."
    )
    var readyMaxLagEvents: Int =
        Int(ProcessInfo.processInfo.environment["ALMANAC_READY_MAX_LAG_EVENTS"] ?? "") ?? 10_000

    @Option(
        help:
            "GET /api/v1/ready answers 503 while the oldest event after the readiness checkpoint is older than this many seconds; 0: not checked (env ALMANAC_READY_MAX_LAG_SECONDS)."
    )
    var readyMaxLagSeconds: Int =
        Int(ProcessInfo.processInfo.environment["ALMANAC_READY_MAX_LAG_SECONDS"] ?? "") ?? 300

    @Option(
        help: ArgumentHelp(
            "The checkpoint whose lag GET /api/v1/ready bounds, or none (env ALMANAC_READY_CHECKPOINT).",
            discussion:
                "Default: calendar-projector with the embedded projector, bus-relay with --bus kafka|sns, none with --no-projector (set it to the checkpoint of the reader that runs elsewhere, e.g. bus-relay)."
        )
    )
    var readyCheckpoint: String?

    @Flag(help: "Do not run the embedded projector and job worker (they run elsewhere).")
    var noProjector = false

    @Option(
        help:
            "Fan-out: none (the projector tails the store in-process), kafka or sns (relay and a projector beside the API). Env ALMANAC_BUS."
    )
    var bus: BusKind = BusKind(rawValue: ProcessInfo.processInfo.environment["ALMANAC_BUS"] ?? "") ?? .none

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var sns: SNSOptions
    @OptionGroup var metrics: MetricsOptions

    func validate() throws {
        try metrics.validate(apiPort: port)
        guard let mode = AuthMode(rawValue: auth) else {
            throw ValidationError("--auth must be one of: \(AuthMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if mode == .none && !Loopback.isLoopback(host: hostname) {
            throw ValidationError(
                "--auth none serves every request as the default user: it only binds a loopback address, not \(hostname)"
            )
        }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0...65535") }
        if let raw = ProcessInfo.processInfo.environment["ALMANAC_FEED_GZIP_LEVEL"], Int(raw) == nil {
            throw ValidationError("ALMANAC_FEED_GZIP_LEVEL must be a whole number 1...9, got \(raw.debugDescription)")
        }
        guard APIConfiguration.feedGzipLevels.contains(feedGzipLevel) else {
            throw ValidationError("--feed-gzip-level (ALMANAC_FEED_GZIP_LEVEL) must be 1...9, got \(feedGzipLevel)")
        }
        guard readyMaxLagEvents >= 0, readyMaxLagSeconds >= 0 else {
            throw ValidationError("--ready-max-lag-events and --ready-max-lag-seconds must be 0 (off) or more")
        }
        guard idleTimeout >= 1, maxConnections >= 1, shutdownTimeout >= 1, requestTimeout >= 1 else {
            throw ValidationError(
                "--idle-timeout, --max-connections, --shutdown-timeout and --request-timeout must be at least 1"
            )
        }
        if try feedTokenKey() == nil && !Loopback.isLoopback(host: hostname) {
            // Serving other machines is production: a sealing key in the database beside the
            // sealed tokens would hand every feed URL to whoever reads a backup.
            throw ValidationError(
                "serving \(hostname) (not loopback) needs ALMANAC_FEED_TOKEN_KEY (32 random bytes, hex or base64: openssl rand -hex 32)"
            )
        }
    }

    /// ALMANAC_FEED_TOKEN_KEY (environment only: a command line is visible to every local user).
    func feedTokenKey() throws -> FeedTokenKey? {
        guard let text = ProcessInfo.processInfo.environment["ALMANAC_FEED_TOKEN_KEY"], !text.isEmpty else {
            return nil
        }
        do {
            return try FeedTokenKey(parsing: text)
        } catch {
            throw ValidationError("ALMANAC_FEED_TOKEN_KEY: \(error)")
        }
    }

    func run() async throws {
        let metricsSettings = metrics.bootstrap()
        let logger = Logger.almanac()
        let tracing = try TracingSetup.bootstrap(logger: logger).map { [$0] } ?? []
        let mode = AuthMode(rawValue: auth) ?? .apiKey
        if mode == .none {
            logger.warning("authentication is off (--auth none): every request acts as the user 'default'")
        }
        let adminToken = ProcessInfo.processInfo.environment["ALMANAC_ADMIN_TOKEN"]
        let feedTokenKey = try feedTokenKey()
        if feedTokenKey == nil {
            logger.notice(
                "ALMANAC_FEED_TOKEN_KEY is not set: feed URLs are sealed with a key kept in the database itself (fine for development; set it in production)"
            )
        }
        try await database.withRuntime(logger: logger) { runtime in
            if let created = try await runtime.services.users.createDefaultUserIfEmpty() {
                // Never into the log (it is collected and kept): into a file only this OS user reads.
                let file = try DefaultUserKey.write(created.apiKey, dataDirectory: database.dataDirectory)
                logger.notice("created user 'default'; its API key is in \(file) (readable by this OS user only)")
            }
            let fanOut = try await bus.fanOut(kafka: kafka, sns: sns)
            var plan = AlmanacRuntime.Plan(
                api: .init(
                    configuration: APIConfiguration(
                        auth: mode,
                        adminToken: adminToken,
                        publicURL: publicURL ?? ProcessInfo.processInfo.environment["ALMANAC_PUBLIC_URL"],
                        feedCacheBytes: max(1, feedCacheMB) << 20,
                        feedGzipLevel: feedGzipLevel,
                        feedTokenKey: feedTokenKey,
                        requestTimeout: .seconds(requestTimeout)
                    ),
                    host: hostname,
                    port: port,
                    idleTimeout: .seconds(idleTimeout),
                    maxConnections: maxConnections
                ),
                projector: noProjector ? nil : fanOut.map { .bus($0) } ?? .store,
                relay: noProjector ? nil : fanOut,
                jobs: !noProjector,
                metrics: metricsSettings
            )
            // /api/v1/ready bounds the lag of the checkpoint this process advances, unless told.
            let given = readyCheckpoint ?? ProcessInfo.processInfo.environment["ALMANAC_READY_CHECKPOINT"]
            let checkpoint = given.flatMap { $0.isEmpty ? nil : $0 }.map { $0 == "none" ? nil : $0 }
            let watched = checkpoint ?? AlmanacRuntime.checkpoint(of: plan)
            plan.api?.configuration.readiness = ReadinessConfiguration(
                checkpoint: watched,
                maxLagEvents: readyMaxLagEvents,
                maxLagSeconds: readyMaxLagSeconds
            )
            try await AlmanacRuntime.run(
                tracing + (try await runtime.services(for: plan)),
                logger: logger,
                shutdown: .init(gracefulDeadline: .seconds(shutdownTimeout))
            )
        }
    }
}
