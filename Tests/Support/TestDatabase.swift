public import EventStore
import Foundation
public import Logging
public import PostgresNIO
public import Runtime

/// A fresh, migrated database per test on the PostgreSQL that `scripts/test` starts.
public enum TestDatabase {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "ALMANAC_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL"
        }
    }

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel =
            ProcessInfo.processInfo.environment["TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .error
        return logger
    }()

    static func adminURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["ALMANAC_TEST_DATABASE_URL"], !url.isEmpty else {
            throw Missing()
        }
        return url
    }

    /// Creates an empty database and returns its URL.
    public static func create(migrated: Bool = true) async throws -> String {
        let admin = try adminURL()
        let name = "almanac_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await withClient(url: admin, poolSize: 1) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        }
        guard var components = URLComponents(string: admin) else { throw Missing() }
        components.path = "/\(name)"
        let url = components.string!
        if migrated {
            try await withClient(url: url, poolSize: 1) { client in
                try await Migrator.bundled().migrate(client: client, logger: logger)
            }
        }
        return url
    }

    /// Runs `body` with a running client on `url`.
    @discardableResult
    public static func withClient<Result>(
        url: String,
        poolSize: Int = 8,
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        try await AlmanacRuntime.withClient(url: url, poolSize: poolSize, logger: logger, body)
    }

    /// A fresh migrated database and an event store on it.
    public static func withStore<Result>(poolSize: Int = 8, _ body: (EventStore) async throws -> Result) async throws
        -> Result
    {
        try await withRuntime(poolSize: poolSize) { try await body($0.store) }
    }

    /// The open transactions that hold the cluster-wide gap-safe horizon back (those that took a
    /// transaction id, the oldest id first): what a test waiting on `readAll` reports when its wait runs
    /// out, so that a timeout on the shared cluster names its cause.
    public static func horizonHolders(_ store: EventStore) async -> String {
        do {
            let rows = try await store.client.run(
                """
                SELECT pid, coalesce(datname, ''), extract(epoch FROM now() - xact_start)::float8,
                       coalesce(state, ''), left(query, 120)
                FROM pg_stat_activity WHERE backend_xid IS NOT NULL ORDER BY age(backend_xid) DESC LIMIT 3
                """,
                logger: logger
            ).decode((Int32, String, Double, String, String).self)
            var holders: [String] = []
            for try await (pid, database, age, state, query) in rows {
                holders.append("pid \(pid) in \(database), \(Int(age)) s, \(state): \(query)")
            }
            return holders.isEmpty ? "none" : holders.joined(separator: "; ")
        } catch {
            return "unknown (\(error))"
        }
    }

    /// Polls like `poll`, and when the wait runs out records what held the horizon back.
    public static func pollPastTheHorizon(
        _ what: String,
        store: EventStore,
        limit: Duration,
        interval: Duration = .milliseconds(20),
        _ condition: () async throws -> Bool
    ) async throws {
        do {
            try await poll(what, limit: limit, interval: interval, condition)
        } catch let timeout as PollTimeout {
            throw HorizonTimeout(timeout: timeout, holders: await horizonHolders(store))
        }
    }

    /// A `PollTimeout` with the transactions that held the horizon back when it ran out.
    public struct HorizonTimeout: Error, CustomStringConvertible {
        public var timeout: PollTimeout
        public var holders: String
        public var description: String { "\(timeout); holding the horizon: \(holders)" }
    }

    /// A migrated event store on a cluster of the test's own (`PrivatePostgres`), for tests of
    /// what is cluster-wide (the gap-safe horizon, `pg_stat_activity`), which the tests running
    /// beside them on the shared cluster would change.
    public static func withPrivateStore<Result: Sendable>(
        poolSize: Int = 4,
        _ body: (EventStore, PrivatePostgres) async throws -> Result
    ) async throws -> Result {
        try await PrivatePostgres.with { postgres in
            try await AlmanacRuntime.withDatabase(.url(postgres.url), poolSize: poolSize, logger: logger) {
                try await body($0.store, postgres)
            }
        }
    }

    /// A fresh migrated database and the composition root on it.
    public static func withRuntime<Result>(
        poolSize: Int = 8,
        _ body: (AlmanacRuntime) async throws -> Result
    ) async throws -> Result {
        let url = try await create()
        return try await AlmanacRuntime.withDatabase(
            .url(url),
            poolSize: poolSize,
            logger: logger,
            migrate: false,
            body
        )
    }
}
