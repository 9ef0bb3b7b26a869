import EventStore
public import Foundation
public import Logging
import NIOPosix
public import PostgresNIO

/// Where the database is.
public enum DatabaseLocation: Sendable {
    /// A PostgreSQL URL.
    case url(String)
    /// The private cluster under a folder, started (and afterwards stopped) when not running.
    case embedded(directory: URL, port: Int)
}

extension AlmanacRuntime {
    /// Runs `body` with a running client on `url`; the client stops when `body` returns.
    public static func withClient<Result>(
        url: String,
        poolSize: Int,
        logger: Logger,
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        try await withClients(url: url, poolSize: poolSize, logger: logger) { client, _ in try await body(client) }
    }

    /// Runs `body` with the request pool and a small pool apart for the LISTEN connections.
    ///
    /// The pools export no metrics (connections in use, waiters): PostgresNIO 1.33's
    /// `PostgresClient` reports its pool events to an internal delegate (`PostgresClientMetrics`)
    /// that only logs, and offers no public hook to observe them.
    static func withClients<Result>(
        url: String,
        poolSize: Int,
        logger: Logger,
        _ body: (PostgresClient, PostgresClient) async throws -> Result
    ) async throws -> Result {
        var configuration = try DatabaseURL.configuration(url)
        configuration.options.maximumConnections = poolSize
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        configuration.options.maximumConnections = listenConnections
        let listenClient = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask { await listenClient.run() }
            defer { group.cancelAll() }
            return try await body(client, listenClient)
        }
    }

    /// LISTEN connections of one process at most: appends, calendar changes, job submissions.
    static let listenConnections = 4

    /// Runs `body` with a runtime on the database at `location` (migrated unless told not to);
    /// an embedded cluster this call started is stopped afterwards.
    public static func withDatabase<Result>(
        _ location: DatabaseLocation,
        poolSize: Int,
        preparedStatements: Bool = true,
        logger: Logger,
        migrate: Bool = true,
        _ body: (AlmanacRuntime) async throws -> Result
    ) async throws -> Result {
        let url: String
        var started: EmbeddedPostgres?
        switch location {
        case .url(let given):
            url = given
        case .embedded(let directory, let port):
            let cluster = EmbeddedPostgres(directory: directory, port: port, logger: logger)
            // pg_ctl waits for the server: a blocking child process, kept off the cooperative pool.
            if try await NIOThreadPool.singleton.runIfActive({ try cluster.start() }) { started = cluster }
            url = try cluster.databaseURL()
        }
        let outcome: Swift.Result<Result, any Error>
        do {
            outcome = .success(
                try await withClients(url: url, poolSize: poolSize, logger: logger) { client, listenClient in
                    if migrate { try await Migrator.bundled().migrate(client: client, logger: logger) }
                    return try await body(
                        AlmanacRuntime(
                            client: client,
                            listenClient: listenClient,
                            logger: logger,
                            preparedStatements: preparedStatements
                        )
                    )
                }
            )
        } catch {
            outcome = .failure(error)
        }
        if let started { try? await NIOThreadPool.singleton.runIfActive { started.stop() } }
        return try outcome.get()
    }
}
