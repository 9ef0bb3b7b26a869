import EventStore
import Foundation
import Logging
import PostgresNIO
import Projector

extension AlmanacRuntime {
    /// Reads the state of the database (no migration is applied); fails with
    /// `DatabaseStatus.NotMigrated` on a database without the schema.
    public func status() async throws -> DatabaseStatus {
        try await DatabaseStatus.read(store, logger: logger)
    }
}

/// The state of the database for operators (`almanac status`); each figure comes from the type
/// that owns its table.
public struct DatabaseStatus: Codable, Sendable {
    public struct Migrations: Codable, Sendable {
        public var bundled: Int
        public var applied: Int
        public var pending: [String]
    }

    public struct Checkpoint: Codable, Sendable {
        public var name: String
        public var txid: String
        public var position: Int64
        public var savedSecondsAgo: Double
        public var lagEvents: Int64
        public var lagSeconds: Double
    }

    public struct OpenTransaction: Codable, Sendable {
        public var pid: Int32
        public var applicationName: String
        public var state: String
        public var ageSeconds: Double
        public var xidAge: Int64
        public var xminAge: Int64?
    }

    public var migrations: Migrations
    public var events: Int64
    public var users: Int
    public var calendars: Int
    /// Jobs by status (every status listed, 0 when none).
    public var jobs: [String: Int]
    public var checkpoints: [Checkpoint]
    /// The open writing transaction that took its id first; nil when none.
    public var oldestOpenTransaction: OpenTransaction?

    public struct NotMigrated: Error, CustomStringConvertible {
        public var description: String { "the database has no Almanac schema yet: run almanac migrate" }
    }

    static func read(_ store: EventStore, logger: Logger) async throws -> DatabaseStatus {
        let migrator = try Migrator.bundled()
        let (pending, checkpoints, calendars) = try await store.client.leased { connection in
            let pending = try await migrator.pending(on: connection, logger: logger)
            guard pending.count < migrator.migrations.count else { throw NotMigrated() }
            return (
                pending,
                try await Checkpoints.all(on: connection, logger: logger),
                try await CalendarStore(logger: logger, preparedStatements: store.preparedStatements).count(
                    on: connection
                )
            )
        }
        var jobs = try await JobTable(client: store.client, logger: logger).countsByStatus()
        for status in ["PENDING", "STARTED", "SUCCESS", "FAILURE"] where jobs[status] == nil { jobs[status] = 0 }
        let oldest = try await store.oldestOpenTransaction()
        return DatabaseStatus(
            migrations: Migrations(
                bundled: migrator.migrations.count,
                applied: migrator.migrations.count - pending.count,
                pending: pending.map(\.name)
            ),
            events: try await store.eventCount(),
            users: try await UserTable(
                client: store.client,
                logger: logger,
                preparedStatements: store.preparedStatements
            ).count(),
            calendars: calendars,
            jobs: jobs,
            checkpoints: checkpoints.map {
                Checkpoint(
                    name: $0.name,
                    txid: String($0.cursor.txid),
                    position: $0.cursor.position,
                    savedSecondsAgo: $0.savedSecondsAgo,
                    lagEvents: $0.lag.events,
                    lagSeconds: $0.lag.seconds
                )
            },
            oldestOpenTransaction: oldest.map {
                OpenTransaction(
                    pid: $0.pid,
                    applicationName: $0.applicationName,
                    state: $0.state,
                    ageSeconds: $0.ageSeconds,
                    xidAge: $0.xidAge,
                    xminAge: $0.xminAge
                )
            }
        )
    }
}
