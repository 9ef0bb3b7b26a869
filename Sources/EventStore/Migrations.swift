public import Foundation
public import Logging
public import PostgresNIO

/// One numbered plain-SQL file from `migrations/`.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies the numbered SQL migrations in order, each once, recorded in `schema_migrations`.
///
/// A session-level advisory lock serialises concurrent runners: a second process waits, then
/// finds everything applied.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    /// The advisory lock key (an arbitrary constant, "almanac" in ASCII).
    static let lockKey: Int64 = 0x616c_6d61_6e61_63

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The migrations shipped with the binary (copied from the repository's `migrations/`).
    public static func bundled() throws -> Migrator {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw Failure(description: "the bundled migrations folder is missing")
        }
        return try Migrator(directory: directory)
    }

    /// Reads `NNNN_name.sql` files from a folder.
    public init(directory: URL) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var migrations: [Migration] = []
        for file in files where file.hasSuffix(".sql") {
            guard let number = Int(file.prefix { $0.isNumber }) else {
                throw Failure(description: "migration file \(file) does not start with a number")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: number, name: file, sql: sql))
        }
        let versions = migrations.map(\.version)
        guard Set(versions).count == versions.count else {
            throw Failure(description: "two migration files share a number")
        }
        self.init(migrations: migrations)
    }

    /// Applies what is missing; returns the names applied now.
    @discardableResult
    public func migrate(client: PostgresClient, logger: Logger) async throws -> [String] {
        let applied = try await EventStore.withSessionLock(
            client: client,
            key: Self.lockKey,
            wait: true,
            logger: logger
        ) { connection in
            try await apply(on: connection, logger: logger)
        }
        return applied ?? []
    }

    /// The migrations not applied to the database yet (all of them when it has none): a
    /// database behind the binary's schema.
    public func pending(on connection: PostgresConnection, logger: Logger) async throws -> [Migration] {
        var exists = false
        for try await found in try await connection.run(
            "SELECT to_regclass('schema_migrations') IS NOT NULL",
            logger: logger
        ).decode(Bool.self) {
            exists = found
        }
        guard exists else { return migrations }
        var done: Set<Int> = []
        for try await version in try await connection.run(
            "SELECT version FROM schema_migrations",
            logger: logger
        ).decode(Int.self) {
            done.insert(version)
        }
        return migrations.filter { !done.contains($0.version) }
    }

    private func apply(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.run(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            )
            """,
            logger: logger
        )
        var done: [Int: String] = [:]
        for try await (version, name) in try await connection.run(
            "SELECT version, name FROM schema_migrations",
            logger: logger
        ).decode((Int, String).self) {
            done[version] = name
        }
        var applied: [String] = []
        for migration in migrations {
            if let name = done[migration.version] {
                guard name == migration.name else {
                    throw Failure(
                        description:
                            "migration \(migration.version) was applied as \(name) but is now \(migration.name)"
                    )
                }
                continue
            }
            logger.info("applying migration", metadata: ["migration": "\(migration.name)"])
            // Each file is atomic together with its bookkeeping row.
            do {
                try await connection.run("BEGIN", logger: logger)
                for statement in SQLStatements.split(migration.sql) {
                    try await connection.run(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.run(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
                try await connection.run("COMMIT", logger: logger)
            } catch {
                _ = try? await connection.run("ROLLBACK", logger: logger)
                throw Failure(description: "migration \(migration.name) failed: \(String(reflecting: error))")
            }
            applied.append(migration.name)
        }
        return applied
    }
}
