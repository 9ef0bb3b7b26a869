import Logging
public import PostgresNIO

/// Saved progress of global-log readers, written in the reader's own transaction.
public enum Checkpoints {
    public static func load(_ name: String, on connection: PostgresConnection, logger: Logger, lock: Bool = false)
        async throws -> GlobalCursor
    {
        let query: PostgresQuery =
            lock
            ? "SELECT txid::text, position FROM checkpoints WHERE name = \(name) FOR UPDATE"
            : "SELECT txid::text, position FROM checkpoints WHERE name = \(name)"
        for try await (txid, position) in try await connection.run(query, logger: logger).decode((String, Int64).self) {
            guard let txid64 = UInt64(txid) else { throw MalformedTransactionID(text: txid) }
            return GlobalCursor(txid: txid64, position: position)
        }
        return .start
    }

    /// `prepared`: as a named prepared statement (`EventStore.preparedStatements`).
    public static func save(
        _ name: String,
        _ cursor: GlobalCursor,
        on connection: PostgresConnection,
        prepared: Bool,
        logger: Logger
    ) async throws {
        try await connection.run(
            SaveCheckpoint.query(name, cursor),
            as: SaveCheckpoint.self,
            prepared: prepared,
            logger: logger
        )
    }
}

/// A checkpoint saved (inserted, or moved).
enum SaveCheckpoint: NamedStatement {
    static let name = "almanac_save_checkpoint"
    static let sql = query("", GlobalCursor(txid: 0, position: 0)).sql

    static func query(_ name: String, _ cursor: GlobalCursor) -> PostgresQuery {
        """
        INSERT INTO checkpoints (name, txid, position) VALUES (\(name), \(String(cursor.txid))::xid8, \(cursor.position))
        ON CONFLICT (name) DO UPDATE SET txid = EXCLUDED.txid, position = EXCLUDED.position, updated_at = now()
        """
    }
}

extension Checkpoints {
    /// How far a saved checkpoint is behind the head of the log.
    public struct Lag: Sendable, Hashable {
        public var name: String
        /// Committed events after the checkpoint (counted up to a cap).
        public var events: Int64
        /// Age of the first committed event after the checkpoint, in cursor order; 0 when none.
        public var seconds: Double
    }

    /// The lag of every saved checkpoint (`all(cap:)`), for the metrics sampler.
    public static func lags(client: PostgresClient, cap: Int64, logger: Logger) async throws -> [Lag] {
        try await client.leased { try await all(cap: cap, on: $0, logger: logger) }.map {
            Lag(name: $0.name, events: $0.lag.events, seconds: $0.lag.seconds)
        }
    }
}
