import Crypto
import EventStore
import Foundation
import HTTPTypes
import Logging
import NIOCore
import PostgresNIO
import Projector

/// Secret feed URLs. A token is HMAC-SHA256(server key, "user:generation"): 256 unguessable bits
/// that the server can show again on `GET /api/v1/feed`, while only its SHA-256 is stored.
/// Rotating bumps the generation and revokes the old token (which then answers 410).
struct FeedTokens: Sendable {
    let store: EventStore

    enum Resolution: Sendable, Equatable {
        case active(user: Int64)
        case revoked
        case unknown
    }

    private func serverKey(on connection: PostgresConnection) async throws -> SymmetricKey {
        for try await value in try await connection.query(
            "SELECT value FROM server_secrets WHERE name = 'feed_token_key'",
            logger: store.logger
        ).decode(String.self) {
            return SymmetricKey(data: Array(value.utf8))
        }
        throw APIError(.internalServerError, "the feed token key is missing: run almanac migrate")
    }

    private func token(user: Int64, generation: Int32, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(user):\(generation)".utf8), using: key)
        let encoded = Data(mac).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return "cal_" + encoded
    }

    /// The user's current token, issuing the first one when there is none.
    func current(user: Int64) async throws -> String {
        try await store.withTransaction { connection in
            let key = try await serverKey(on: connection)
            try await connection.query("SELECT pg_advisory_xact_lock(\(user))", logger: store.logger)
            for try await generation in try await connection.query(
                "SELECT generation FROM feed_tokens WHERE user_id = \(user) AND revoked_at IS NULL",
                logger: store.logger
            ).decode(Int32.self) {
                return token(user: user, generation: generation, key: key)
            }
            return try await issue(user: user, key: key, on: connection)
        }
    }

    /// Revokes the current token and issues a new one.
    func rotate(user: Int64) async throws -> String {
        try await store.withTransaction { connection in
            let key = try await serverKey(on: connection)
            try await connection.query("SELECT pg_advisory_xact_lock(\(user))", logger: store.logger)
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
    }

    private func issue(user: Int64, key: SymmetricKey, on connection: PostgresConnection) async throws -> String {
        var generation: Int32 = 1
        for try await last in try await connection.query(
            "SELECT COALESCE(max(generation), 0) + 1 FROM feed_tokens WHERE user_id = \(user)",
            logger: store.logger
        ).decode(Int32.self) {
            generation = last
        }
        let token = token(user: user, generation: generation, key: key)
        try await connection.query(
            """
            INSERT INTO feed_tokens (token_hash, user_id, generation)
            VALUES (\(ByteBuffer(bytes: Secrets.hash(token))), \(user), \(generation))
            """,
            logger: store.logger
        )
        return token
    }

    func resolve(_ token: String) async throws -> Resolution {
        guard token.hasPrefix("cal_"), token.count < 100 else { return .unknown }
        let rows = try await store.client.query(
            "SELECT user_id, revoked_at IS NOT NULL FROM feed_tokens WHERE token_hash = \(ByteBuffer(bytes: Secrets.hash(token)))",
            logger: store.logger
        ).decode((Int64, Bool).self)
        for try await (user, revoked) in rows {
            return revoked ? .revoked : .active(user: user)
        }
        return .unknown
    }
}
