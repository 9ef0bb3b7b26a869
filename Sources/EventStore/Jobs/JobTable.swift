public import Foundation
public import Logging
public import NIOCore
public import PostgresNIO

/// The `jobs` table: calendar jobs (the TaskOverflow asynchronous contract), claimed by workers
/// with `FOR UPDATE SKIP LOCKED` under a lease. The only place with its SQL.
public struct JobTable: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long a claimed `full` job may run before another worker may take it over.
    public var lease: Duration = .seconds(60)
    /// Attempts before a `full` job is marked FAILURE.
    public var maxAttempts = 3

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public enum Kind: String, Sendable {
        case projection
        case full
    }

    public struct Job: Sendable, Hashable {
        public var id: UUID
        public var userID: Int64
        public var kind: Kind
        public var targetVersion: Int64
        public var status: String
        public var attempts: Int
        public var durationMilliseconds: Double?
        public var matchesIncremental: Bool?
        public var error: String?
    }

    /// A user has `limit` jobs pending or running already.
    public struct TooManyInFlight: Error, Sendable, CustomStringConvertible {
        public var limit: Int

        public init(limit: Int) {
            self.limit = limit
        }

        public var description: String {
            "at most \(limit) calendar jobs may be pending or running per user; retry when one has finished"
        }
    }

    /// A kind of job in a state (a key of `depth`).
    public struct DepthKey: Sendable, Hashable {
        public var kind: Kind
        public var status: String

        public init(kind: Kind, status: String) {
            self.kind = kind
            self.status = status
        }
    }

    /// Jobs pending or running, by kind and status (the `jobs_runnable` partial index).
    public func depth() async throws -> [DepthKey: Int] {
        try await client.leased { connection in
            let rows = try await connection.run(
                "SELECT kind, status, count(*) FROM jobs WHERE status IN ('PENDING', 'STARTED') GROUP BY kind, status",
                logger: logger
            ).decode((String, String, Int64).self)
            var depth: [DepthKey: Int] = [:]
            for try await (kind, status, count) in rows {
                guard let kind = Kind(rawValue: kind) else { continue }
                depth[DepthKey(kind: kind, status: status)] = Int(count)
            }
            return depth
        }
    }

    /// How many of the user's jobs are pending or running.
    public func inFlight(user: Int64) async throws -> Int {
        let rows = try await client.run(
            "SELECT count(*) FROM jobs WHERE user_id = \(user) AND status IN ('PENDING', 'STARTED')",
            logger: logger
        ).decode(Int64.self)
        for try await count in rows { return Int(count) }
        return 0
    }

    /// How many jobs are in each status (`PENDING`, `STARTED`, `SUCCESS`, `FAILURE`; absent: none).
    public func countsByStatus() async throws -> [String: Int] {
        let rows = try await client.run(
            "SELECT status, count(*) FROM jobs GROUP BY status",
            logger: logger
        ).decode((String, Int64).self)
        var counts: [String: Int] = [:]
        for try await (status, count) in rows { counts[status] = Int(count) }
        return counts
    }

    /// Deletes jobs (and their stored results) created more than `age` ago; returns how many.
    @discardableResult
    public func expire(olderThan age: Duration) async throws -> Int {
        try await client.deleteCounting(
            "DELETE FROM jobs WHERE created_at < now() - make_interval(secs => \(Double(age.components.seconds))) RETURNING 1",
            logger: logger
        )
    }

    /// Records a job for `targetVersion` of the user's stream; a `full` job wakes the workers.
    public func insert(user: Int64, kind: Kind, targetVersion version: Int64) async throws -> Job {
        let id = UUID()
        try await client.run(
            """
            INSERT INTO jobs (id, user_id, kind, target_version) VALUES (\(id), \(user), \(kind.rawValue), \(version));
            """,
            logger: logger
        )
        if kind == .full {
            try await client.run(
                "SELECT pg_notify(\(Channels.jobs), \(id.uuidString))",
                logger: logger
            )
        }
        return Job(
            id: id,
            userID: user,
            kind: kind,
            targetVersion: version,
            status: "PENDING",
            attempts: 0,
            durationMilliseconds: nil,
            matchesIncremental: nil,
            error: nil
        )
    }

    /// Marks a pending projection job done (its calendar reached the target); the seconds since
    /// it was submitted when it did, nil when it was not pending.
    public func settle(_ id: UUID) async throws -> Double? {
        let rows = try await client.run(
            """
            UPDATE jobs SET status = 'SUCCESS', finished_at = now() WHERE id = \(id) AND status = 'PENDING'
            RETURNING extract(epoch FROM finished_at - created_at)::float8
            """,
            logger: logger
        ).decode(Double.self)
        for try await seconds in rows { return seconds }
        return nil
    }

    /// The user's job (nil for another user's).
    public func job(_ id: UUID, user: Int64) async throws -> Job? {
        let rows = try await client.run(
            """
            SELECT id, user_id, kind, target_version, status, attempts, duration_ms, matches_incremental, error
            FROM jobs WHERE id = \(id) AND user_id = \(user)
            """,
            logger: logger
        )
        for try await (id, user, kind, target, status, attempts, duration, matches, error) in rows.decode(
            (UUID, Int64, String, Int64, String, Int32, Double?, Bool?, String?).self
        ) {
            return Job(
                id: id,
                userID: user,
                kind: Kind(rawValue: kind) ?? .projection,
                targetVersion: target,
                status: status,
                attempts: Int(attempts),
                durationMilliseconds: duration,
                matchesIncremental: matches,
                error: error
            )
        }
        return nil
    }

    /// The stored calendar of a finished `full` job.
    public func result(_ id: UUID, user: Int64) async throws -> ByteBuffer? {
        let rows = try await client.run(
            "SELECT result FROM jobs WHERE id = \(id) AND user_id = \(user) AND status = 'SUCCESS'",
            logger: logger
        ).decode(ByteBuffer?.self)
        for try await result in rows { return result }
        return nil
    }

    /// Claims the oldest runnable `full` job (pending, or started with an expired lease).
    public func claim() async throws -> Job? {
        let seconds = Double(lease.components.seconds)
        let rows = try await client.run(
            """
            UPDATE jobs SET status = 'STARTED', attempts = attempts + 1, started_at = now(),
                lease_until = now() + make_interval(secs => \(seconds))
            WHERE id = (
                SELECT id FROM jobs
                WHERE kind = 'full' AND (status = 'PENDING' OR (status = 'STARTED' AND lease_until < now()))
                ORDER BY created_at FOR UPDATE SKIP LOCKED LIMIT 1
            )
            RETURNING id, user_id, target_version, attempts
            """,
            logger: logger
        ).decode((UUID, Int64, Int64, Int32).self)
        for try await (id, user, target, attempts) in rows {
            return Job(
                id: id,
                userID: user,
                kind: .full,
                targetVersion: target,
                status: "STARTED",
                attempts: Int(attempts),
                durationMilliseconds: nil,
                matchesIncremental: nil,
                error: nil
            )
        }
        return nil
    }

    public func succeed(_ id: UUID, result: [UInt8], durationMilliseconds: Double, matches: Bool) async throws {
        try await client.run(
            """
            UPDATE jobs SET status = 'SUCCESS', finished_at = now(), result = \(ByteBuffer(bytes: result)),
                duration_ms = \(durationMilliseconds), matches_incremental = \(matches), lease_until = NULL
            WHERE id = \(id)
            """,
            logger: logger
        )
    }

    /// Gives the job back for a retry, or fails it after `maxAttempts`.
    public func fail(_ job: Job, error: String) async throws {
        let final = job.attempts >= maxAttempts
        try await client.run(
            """
            UPDATE jobs SET status = \(final ? "FAILURE" : "PENDING"), error = \(error), lease_until = NULL,
                finished_at = CASE WHEN \(final) THEN now() END
            WHERE id = \(job.id)
            """,
            logger: logger
        )
    }
}
