public import Logging
public import PostgresNIO

/// The `idempotency_keys` table: the first answer to each keyed write (`Idempotency-Key`), per
/// user. The only place with its SQL.
///
/// The answer is saved in the write's own transaction, after the user's stream row is locked:
/// either the write and its answer commit together or neither does, and a second request with
/// the same key (a retry after an uncertain commit, or a concurrent duplicate) waits for the
/// first and then finds its answer.
public struct IdempotencyTable: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// How long a key is remembered; a key older than this may be used again as a new one.
    public var retention: Duration = .seconds(24 * 3600)

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// What a keyed request was, as far as its replay is concerned.
    public struct Request: Sendable, Hashable {
        public var key: String
        /// A digest of the method, the path and the body: the same key with another request is
        /// refused.
        public var fingerprint: [UInt8]

        public init(key: String, fingerprint: [UInt8]) {
            self.key = key
            self.fingerprint = fingerprint
        }
    }

    /// An answer as it was sent.
    public struct Answer: Sendable, Hashable {
        public var status: Int
        public var body: [UInt8]

        public init(status: Int, body: [UInt8]) {
            self.status = status
            self.body = body
        }
    }

    /// The key was used with another request (another method, path or body).
    public struct KeyReused: Error, Sendable, CustomStringConvertible {
        public init() {}

        public var description: String {
            "this Idempotency-Key was already used with a different request; use a new key for a new request"
        }
    }

    /// The answer saved for `request` within the retention, or nil; throws `KeyReused` when the
    /// key was saved with another fingerprint.
    public func answer(user: Int64, for request: Request, on connection: PostgresConnection) async throws -> Answer? {
        let seconds = Double(retention.components.seconds)
        let rows = try await connection.run(
            """
            SELECT fingerprint, status, body FROM idempotency_keys
            WHERE user_id = \(user) AND key = \(request.key)
              AND created_at >= now() - make_interval(secs => \(seconds))
            """,
            logger: logger
        ).decode((ByteBuffer, Int32, ByteBuffer).self)
        for try await (fingerprint, status, body) in rows {
            guard Array(buffer: fingerprint) == request.fingerprint else { throw KeyReused() }
            return Answer(status: Int(status), body: Array(buffer: body))
        }
        return nil
    }

    /// Saves the answer to `request` (replacing an expired one) and forgets the user's expired keys.
    public func save(user: Int64, _ request: Request, answer: Answer, on connection: PostgresConnection) async throws {
        let seconds = Double(retention.components.seconds)
        try await connection.run(
            """
            DELETE FROM idempotency_keys
            WHERE user_id = \(user) AND created_at < now() - make_interval(secs => \(seconds))
            """,
            logger: logger
        )
        try await connection.run(
            """
            INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body)
            VALUES (\(user), \(request.key), \(ByteBuffer(bytes: request.fingerprint)), \(Int32(answer.status)),
                    \(ByteBuffer(bytes: answer.body)))
            """,
            logger: logger
        )
    }

    /// Deletes every key older than the retention; returns how many.
    @discardableResult
    public func expire() async throws -> Int {
        let seconds = Double(retention.components.seconds)
        return try await client.deleteCounting(
            "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => \(seconds)) RETURNING 1",
            logger: logger
        )
    }
}
