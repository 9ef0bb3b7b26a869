import ArgumentParser
import EventStore
import Foundation
import Logging
import PostgresNIO

/// Where the database is: `DATABASE_URL`, or the embedded cluster under `--data-dir`.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database-url"),
        help: "PostgreSQL URL (env DATABASE_URL). Without it, a private cluster under --data-dir is used."
    )
    var databaseURL: String?

    @Option(name: .customLong("data-dir"), help: "Folder of the embedded PostgreSQL cluster (env ALMANAC_DATA_DIR).")
    var dataDirectory: String = ProcessInfo.processInfo.environment["ALMANAC_DATA_DIR"] ?? ".almanac"

    @Option(
        name: .customLong("embedded-port"),
        help: "Loopback port of the embedded PostgreSQL (env ALMANAC_EMBEDDED_PG_PORT)."
    )
    var embeddedPort: Int = Int(ProcessInfo.processInfo.environment["ALMANAC_EMBEDDED_PG_PORT"] ?? "") ?? 54329

    @Option(name: .customLong("db-pool-size"), help: "Maximum PostgreSQL connections of this process.")
    var poolSize: Int = 20

    /// Runs `body` with a running client; starts (and afterwards stops) the embedded cluster when
    /// no URL is given and it is not running yet.
    func withDatabase<Result>(logger: Logger, _ body: (PostgresClient) async throws -> Result) async throws -> Result {
        var embedded: EmbeddedPostgres?
        var url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"]
        if url == nil || url?.isEmpty == true {
            let cluster = EmbeddedPostgres(
                directory: URL(fileURLWithPath: dataDirectory).appendingPathComponent("postgres"),
                port: embeddedPort,
                logger: logger
            )
            if try cluster.start() { embedded = cluster }
            url = try cluster.databaseURL()
        }
        defer { embedded?.stop() }
        var configuration = try DatabaseURL.configuration(url!)
        configuration.options.maximumConnections = poolSize
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

extension Logger {
    static func almanac(_ label: String = "almanac") -> Logger {
        var logger = Logger(label: label)
        logger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        return logger
    }
}
