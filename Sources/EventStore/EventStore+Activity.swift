import Logging
import PostgresNIO

extension EventStore {
    /// The number of events in the log.
    public func eventCount() async throws -> Int64 {
        try await client.leased { connection in
            for try await count in try await connection.run("SELECT count(*) FROM events", logger: logger)
                .decode(Int64.self)
            {
                return count
            }
            return 0
        }
    }

    /// An open transaction that holds a transaction id (a writer), as `pg_stat_activity` shows it.
    public struct OpenTransaction: Sendable, Hashable {
        public var pid: Int32
        public var applicationName: String
        /// `active`, `idle in transaction`, …
        public var state: String
        /// Seconds since the transaction started.
        public var ageSeconds: Double
        /// Transactions started since this one took its id (`age(backend_xid)`).
        public var xidAge: Int64
        /// Age of its snapshot horizon (`age(backend_xmin)`); nil when it holds no snapshot.
        public var xminAge: Int64?
    }

    /// The open writing transaction that took its id first (the one holding the gap-safe
    /// horizon back: no event committed after it is read until it ends), other than this query's.
    public func oldestOpenTransaction() async throws -> OpenTransaction? {
        try await client.leased { connection in
            let rows = try await connection.run(
                """
                SELECT pid, coalesce(application_name, ''), coalesce(state, ''),
                       coalesce(extract(epoch FROM now() - xact_start), 0)::float8,
                       age(backend_xid)::int8, age(backend_xmin)::int8
                FROM pg_stat_activity
                WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
                ORDER BY age(backend_xid) DESC LIMIT 1
                """,
                logger: logger
            ).decode((Int32, String, String, Double, Int64, Int64?).self)
            for try await (pid, application, state, age, xidAge, xminAge) in rows {
                return OpenTransaction(
                    pid: pid,
                    applicationName: application,
                    state: state,
                    ageSeconds: max(0, age),
                    xidAge: xidAge,
                    xminAge: xminAge
                )
            }
            return nil
        }
    }
}
