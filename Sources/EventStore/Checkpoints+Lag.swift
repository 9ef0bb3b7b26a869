import Logging
public import PostgresNIO

extension Checkpoints {
    /// How far a reader is behind the head of the log.
    public struct ReaderLag: Sendable, Hashable {
        /// Committed events after the checkpoint (capped at the limit asked for, when one was).
        public var events: Int64
        /// Age in seconds of the oldest event after the checkpoint; 0 when there is none.
        public var seconds: Double

        public init(events: Int64, seconds: Double) {
            self.events = events
            self.seconds = seconds
        }
    }

    /// How far the reader of checkpoint `name` (a missing one reads from the start) is behind:
    /// counting at most `limit` events when given, so that a probe costs O(limit), not O(lag).
    public static func lag(of name: String, limit: Int? = nil, on connection: PostgresConnection, logger: Logger)
        async throws -> ReaderLag
    {
        let cursor = try await load(name, on: connection, logger: logger)
        let query: PostgresQuery =
            if let limit {
                """
                SELECT count(*)::int8, coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float8
                FROM (SELECT recorded_at FROM events
                      WHERE (txid, position) > (\(String(cursor.txid))::xid8, \(cursor.position))
                      ORDER BY txid, position LIMIT \(Int64(limit))) AS behind
                """
            } else {
                """
                SELECT count(*)::int8, coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float8
                FROM events WHERE (txid, position) > (\(String(cursor.txid))::xid8, \(cursor.position))
                """
            }
        for try await (events, seconds) in try await connection.run(query, logger: logger).decode((Int64, Double).self)
        {
            return ReaderLag(events: events, seconds: max(0, seconds))
        }
        return ReaderLag(events: 0, seconds: 0)
    }

    /// One saved checkpoint and how far its reader is behind.
    public struct Row: Sendable, Hashable {
        public var name: String
        public var cursor: GlobalCursor
        /// Seconds since the checkpoint was last saved.
        public var savedSecondsAgo: Double
        public var lag: ReaderLag
    }

    /// Every saved checkpoint by name, with its lag: the events after it are an index range scan
    /// of `events_global_order`, counted up to `cap` when given (so a periodic sample costs
    /// O(cap), not O(lag)).
    public static func all(cap: Int64? = nil, on connection: PostgresConnection, logger: Logger) async throws
        -> [Row]
    {
        let limit = cap.map { "LIMIT \($0)" } ?? ""
        let rows = try await connection.run(
            """
            SELECT c.name, c.txid::text, c.position, extract(epoch FROM now() - c.updated_at)::float8,
                   (SELECT count(*) FROM (SELECT 1 FROM events e WHERE (e.txid, e.position) > (c.txid, c.position)
                                          \(unescaped: limit)) AS behind)::int8,
                   coalesce((SELECT extract(epoch FROM now() - e.recorded_at) FROM events e
                             WHERE (e.txid, e.position) > (c.txid, c.position)
                             ORDER BY e.txid, e.position LIMIT 1), 0)::float8
            FROM checkpoints c ORDER BY c.name
            """,
            logger: logger
        ).decode((String, String, Int64, Double, Int64, Double).self)
        var result: [Row] = []
        for try await (name, txid, position, saved, events, seconds) in rows {
            guard let txid64 = UInt64(txid) else { throw MalformedTransactionID(text: txid) }
            result.append(
                Row(
                    name: name,
                    cursor: GlobalCursor(txid: txid64, position: position),
                    savedSecondsAgo: max(0, saved),
                    lag: ReaderLag(events: events, seconds: max(0, seconds))
                )
            )
        }
        return result
    }
}
