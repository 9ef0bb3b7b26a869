import ArgumentParser
import Foundation
import Logging
import Runtime

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

    @Option(
        name: .customLong("prepared-statements"),
        help: """
            on: the statements of writes, projection batches and log reads go as named prepared statements, \
            parsed once per connection; off: unnamed, parsed on every execution, for a pooler that does not keep \
            named statements per client (PgBouncer in transaction mode before 1.21 or without \
            max_prepared_statements) (env ALMANAC_PREPARED_STATEMENTS).
            """
    )
    var preparedStatements: String = ProcessInfo.processInfo.environment["ALMANAC_PREPARED_STATEMENTS"] ?? "on"

    func validate() throws {
        guard ["on", "off"].contains(preparedStatements) else {
            throw ValidationError(
                "--prepared-statements (ALMANAC_PREPARED_STATEMENTS) must be on or off, got \(preparedStatements.debugDescription)"
            )
        }
    }

    /// The URL given (`--database-url` or `DATABASE_URL`), else the embedded cluster.
    var location: DatabaseLocation {
        if let url = databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return .url(url)
        }
        return .embedded(
            directory: URL(fileURLWithPath: dataDirectory).appendingPathComponent("postgres"),
            port: embeddedPort
        )
    }

    /// Runs `body` with a runtime on the (migrated) database; starts, and afterwards stops, the
    /// embedded cluster when no URL is given and it is not running yet.
    func withRuntime<Result>(
        logger: Logger,
        migrate: Bool = true,
        _ body: (AlmanacRuntime) async throws -> Result
    ) async throws -> Result {
        try await AlmanacRuntime.withDatabase(
            location,
            poolSize: poolSize,
            preparedStatements: preparedStatements == "on",
            logger: logger,
            migrate: migrate,
            body
        )
    }
}
