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
    let table: FeedTokenTable
    /// The sealing key; nil: the database's own `server_secrets` key (development only).
    let configuredKey: FeedTokenKey?

    init(store: EventStore, key: FeedTokenKey?) {
        self.store = store
        self.table = FeedTokenTable(client: store.client, logger: store.logger)
        self.configuredKey = key
    }

    typealias Resolution = FeedTokenTable.Lookup

    private func databaseSecret(on connection: PostgresConnection) async throws -> String {
        try await table.databaseSecret(on: connection)
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
            try await table.lock(user: user, on: connection)
            if let active = try await table.active(user: user, on: connection) {
                guard let sealed = active.sealed else {
                    return try await legacyToken(user: user, generation: active.generation, on: connection)
                }
                if let token = Self.open(sealed, user: user, generation: active.generation, key: key) { return token }
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
            try await table.lock(user: user, on: connection)
            return try await revokeAndIssue(user: user, key: key, on: connection)
        }
    }

    private func revokeAndIssue(user: Int64, key: SymmetricKey, on connection: PostgresConnection) async throws
        -> String
    {
        // API processes that remember the old token forget it (the table NOTIFYs).
        try await table.revoke(user: user, on: connection)
        return try await issue(user: user, key: key, on: connection)
    }

    private func issue(user: Int64, key: SymmetricKey, on connection: PostgresConnection) async throws -> String {
        let generation = try await table.nextGeneration(user: user, on: connection)
        let token = Secrets.generate(prefix: "cal_")
        let sealed = try Self.seal(token, user: user, generation: generation, key: key)
        try await table.insert(
            hash: Secrets.storedHash(token),
            user: user,
            generation: generation,
            sealed: sealed,
            on: connection
        )
        return token
    }

    /// AES-GCM with the row's identity as authenticated data, so a sealed copy moved to another
    /// user's row does not open.
    static func seal(_ token: String, user: Int64, generation: Int32, key: SymmetricKey) throws -> ByteBuffer {
        let box = try AES.GCM.seal(Array(token.utf8), using: key, authenticating: Array("\(user):\(generation)".utf8))
        // AES.GCM.seal with the default 12-byte nonce always has a combined representation.
        guard let combined = box.combined else { preconditionFailure("AES-GCM box without a combined form") }
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
        return try await table.lookup(hash: Secrets.storedHash(token))
    }
}
