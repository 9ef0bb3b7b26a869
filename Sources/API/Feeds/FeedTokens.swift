import Crypto
import EventStore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import PostgresNIO
import Projector

/// Secret feed URLs. A token is 256 random bits from the OS; the database keeps its SHA-256
/// (for lookups) and a copy sealed with AES-GCM under `FeedTokenKey`, so that
/// `GET /api/v1/feed` can show the URL again. Rotating revokes the old token (which then
/// answers 410) and issues a new one.
struct FeedTokens: Sendable {
    let store: EventStore
    /// The sealing key; nil: the database's own `server_secrets` key (development only).
    let configuredKey: FeedTokenKey?

    init(store: EventStore, key: FeedTokenKey?) {
        self.store = store
        self.configuredKey = key
    }

    enum Resolution: Sendable, Equatable {
        case active(user: Int64)
        case revoked
        case unknown
    }

    /// The secret generated into the database by migration 0003.
    private func databaseSecret(on connection: PostgresConnection) async throws -> String {
        for try await value in try await connection.query(
            "SELECT value FROM server_secrets WHERE name = 'feed_token_key'",
            logger: store.logger
        ).decode(String.self) {
            return value
        }
        throw APIError(.internalServerError, "the feed token key is missing: run almanac migrate")
    }

    private func sealingKey(on connection: PostgresConnection) async throws -> SymmetricKey {
        if let configuredKey { return configuredKey.key }
        return SymmetricKey(data: SHA256.hash(data: Array(try await databaseSecret(on: connection).utf8)))
    }

    /// Tokens issued before migration 0004 were HMAC-SHA256(database secret, "user:generation").
    private func legacyToken(user: Int64, generation: Int32, on connection: PostgresConnection) async throws -> String {
        let key = SymmetricKey(data: Array(try await databaseSecret(on: connection).utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(user):\(generation)".utf8), using: key)
        return "cal_" + Secrets.base64URL(Array(mac))
    }

    /// The user's current token, issuing the first one when there is none.
    ///
    /// When the sealed copy cannot be opened (the key was changed), the token cannot be shown
    /// again: it is revoked and a new one issued, and the change is logged.
    func current(user: Int64) async throws -> String {
        try await store.withTransaction { connection in
            let key = try await sealingKey(on: connection)
            try await connection.query("SELECT pg_advisory_xact_lock(\(user))", logger: store.logger)
            let rows = try await connection.query(
                "SELECT generation, sealed_token FROM feed_tokens WHERE user_id = \(user) AND revoked_at IS NULL",
                logger: store.logger
            ).decode((Int32, ByteBuffer?).self)
            for try await (generation, sealed) in rows {
                guard let sealed else {
                    return try await legacyToken(user: user, generation: generation, on: connection)
                }
                if let token = Self.open(sealed, user: user, generation: generation, key: key) { return token }
                store.logger.warning(
                    "a feed token cannot be unsealed with the configured key (was ALMANAC_FEED_TOKEN_KEY changed?); issuing a new feed URL",
                    metadata: ["user": "\(user)"]
                )
                return try await revokeAndIssue(user: user, key: key, on: connection)
            }
            return try await issue(user: user, key: key, on: connection)
        }
    }

    /// Revokes the current token and issues a new one.
    func rotate(user: Int64) async throws -> String {
        try await store.withTransaction { connection in
            let key = try await sealingKey(on: connection)
            try await connection.query("SELECT pg_advisory_xact_lock(\(user))", logger: store.logger)
            return try await revokeAndIssue(user: user, key: key, on: connection)
        }
    }

    private func revokeAndIssue(user: Int64, key: SymmetricKey, on connection: PostgresConnection) async throws
        -> String
    {
        try await connection.query(
            "UPDATE feed_tokens SET revoked_at = now() WHERE user_id = \(user) AND revoked_at IS NULL",
            logger: store.logger
        )
        // API processes that remember the old token forget it.
        try await connection.query(
            "SELECT pg_notify(\(CalendarStore.changesChannel), \("\(user):rotated"))",
            logger: store.logger
        )
        return try await issue(user: user, key: key, on: connection)
    }

    private func issue(user: Int64, key: SymmetricKey, on connection: PostgresConnection) async throws -> String {
        var generation: Int32 = 1
        for try await last in try await connection.query(
            "SELECT COALESCE(max(generation), 0) + 1 FROM feed_tokens WHERE user_id = \(user)",
            logger: store.logger
        ).decode(Int32.self) {
            generation = last
        }
        let token = Secrets.generate(prefix: "cal_")
        let sealed = try Self.seal(token, user: user, generation: generation, key: key)
        try await connection.query(
            """
            INSERT INTO feed_tokens (token_hash, user_id, generation, sealed_token)
            VALUES (\(Secrets.storedHash(token)), \(user), \(generation), \(sealed))
            """,
            logger: store.logger
        )
        return token
    }

    /// AES-GCM with the row's identity as authenticated data, so a sealed copy moved to another
    /// user's row does not open.
    static func seal(_ token: String, user: Int64, generation: Int32, key: SymmetricKey) throws -> ByteBuffer {
        let box = try AES.GCM.seal(Array(token.utf8), using: key, authenticating: Array("\(user):\(generation)".utf8))
        guard let combined = box.combined else { throw APIError(.internalServerError, "cannot seal a feed token") }
        return ByteBuffer(bytes: combined)
    }

    static func open(_ sealed: ByteBuffer, user: Int64, generation: Int32, key: SymmetricKey) -> String? {
        guard let box = try? AES.GCM.SealedBox(combined: Array(sealed.readableBytesView)),
            let plain = try? AES.GCM.open(box, using: key, authenticating: Array("\(user):\(generation)".utf8))
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    func resolve(_ token: String) async throws -> Resolution {
        guard token.hasPrefix("cal_"), token.count < 100 else { return .unknown }
        let rows = try await store.client.query(
            "SELECT user_id, revoked_at IS NOT NULL FROM feed_tokens WHERE token_hash = \(Secrets.storedHash(token))",
            logger: store.logger
        ).decode((Int64, Bool).self)
        for try await (user, revoked) in rows {
            return revoked ? .revoked : .active(user: user)
        }
        return .unknown
    }
}
