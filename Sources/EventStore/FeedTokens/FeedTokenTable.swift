public import Logging
public import NIOCore
public import PostgresNIO

/// The `feed_tokens` table (hashes and sealed copies of secret feed tokens) and the
/// `server_secrets` row that seals them when no key is configured. The only place with their SQL;
/// the cryptography lives with the caller.
public struct FeedTokenTable: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The database's own sealing secret is missing (the migrations did not run).
    public struct SecretMissing: Error, Sendable, CustomStringConvertible {
        public var description: String { "the feed token key is missing from server_secrets: run almanac migrate" }
    }

    /// The user's token that is not revoked.
    public struct Active: Sendable {
        public var generation: Int32
        /// The token sealed under the key; nil for tokens issued before migration 0004.
        public var sealed: ByteBuffer?
    }

    /// What a token hash resolves to.
    public enum Lookup: Sendable, Equatable {
        case active(user: Int64)
        case revoked
        case unknown
    }

    /// The secret generated into the database by migration 0003 (development default).
    public func databaseSecret(on connection: PostgresConnection) async throws -> String {
        for try await value in try await connection.run(
            "SELECT value FROM server_secrets WHERE name = 'feed_token_key'",
            logger: logger
        ).decode(String.self) {
            return value
        }
        throw SecretMissing()
    }

    /// Serialises token changes of one user until the caller's transaction ends.
    public func lock(user: Int64, on connection: PostgresConnection) async throws {
        try await connection.run("SELECT pg_advisory_xact_lock(\(user))", logger: logger)
    }

    public func active(user: Int64, on connection: PostgresConnection) async throws -> Active? {
        let rows = try await connection.run(
            "SELECT generation, sealed_token FROM feed_tokens WHERE user_id = \(user) AND revoked_at IS NULL",
            logger: logger
        ).decode((Int32, ByteBuffer?).self)
        for try await (generation, sealed) in rows { return Active(generation: generation, sealed: sealed) }
        return nil
    }

    /// Revokes the user's tokens and tells other API processes to forget them.
    public func revoke(user: Int64, on connection: PostgresConnection) async throws {
        try await connection.run(
            "UPDATE feed_tokens SET revoked_at = now() WHERE user_id = \(user) AND revoked_at IS NULL",
            logger: logger
        )
        try await connection.run("SELECT pg_notify(\(Channels.calendars), \("\(user):rotated"))", logger: logger)
    }

    /// The generation the user's next token gets.
    public func nextGeneration(user: Int64, on connection: PostgresConnection) async throws -> Int32 {
        for try await next in try await connection.run(
            "SELECT COALESCE(max(generation), 0) + 1 FROM feed_tokens WHERE user_id = \(user)",
            logger: logger
        ).decode(Int32.self) {
            return next
        }
        return 1
    }

    public func insert(
        hash: ByteBuffer,
        user: Int64,
        generation: Int32,
        sealed: ByteBuffer,
        on connection: PostgresConnection
    ) async throws {
        try await connection.run(
            """
            INSERT INTO feed_tokens (token_hash, user_id, generation, sealed_token)
            VALUES (\(hash), \(user), \(generation), \(sealed))
            """,
            logger: logger
        )
    }

    public func lookup(hash: ByteBuffer) async throws -> Lookup {
        let rows = try await client.run(
            "SELECT user_id, revoked_at IS NOT NULL FROM feed_tokens WHERE token_hash = \(hash)",
            logger: logger
        ).decode((Int64, Bool).self)
        for try await (user, revoked) in rows { return revoked ? .revoked : .active(user: user) }
        return .unknown
    }
}
