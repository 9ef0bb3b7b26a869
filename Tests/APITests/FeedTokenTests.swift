import AlmanacTestSupport
import Crypto
import EventStore
import Foundation
import NIOCore
import PostgresNIO
import Testing

@testable import API

@Suite("Feed tokens")
struct FeedTokenTests {
    static let keyA = try! FeedTokenKey(parsing: String(repeating: "ab", count: 32))
    static let keyB = try! FeedTokenKey(parsing: String(repeating: "cd", count: 32))

    static func row(_ store: EventStore, user: Int64) async throws -> (hash: [UInt8], sealed: [UInt8]?) {
        let rows = try await store.client.query(
            "SELECT token_hash, sealed_token FROM feed_tokens WHERE user_id = \(user) AND revoked_at IS NULL",
            logger: TestDatabase.logger
        ).decode((ByteBuffer, ByteBuffer?).self)
        for try await (hash, sealed) in rows {
            return (Array(hash.readableBytesView), sealed.map { Array($0.readableBytesView) })
        }
        throw CancellationError()
    }

    @Test func tokensAreRandomAndOnlyTheirHashAndASealedCopyAreStored() async throws {
        try await TestDatabase.withStore { store in
            let tokens = FeedTokens(store: store, key: Self.keyA)
            let first = try await tokens.current(user: 1)
            #expect(first.hasPrefix("cal_") && first.count == 4 + 43)  // 256 bits, base64url
            #expect(try await tokens.current(user: 1) == first)
            #expect(try await tokens.resolve(first) == .active(user: 1))

            let stored = try await Self.row(store, user: 1)
            #expect(stored.hash == Secrets.hash(first))
            let sealed = try #require(stored.sealed)
            #expect(!String(decoding: sealed, as: UTF8.self).contains(first.dropFirst(4)))

            // Another database with the same user id and key gets a different token: nothing is derived.
            let elsewhere = try await TestDatabase.withStore { other in
                try await FeedTokens(store: other, key: Self.keyA).current(user: 1)
            }
            #expect(elsewhere != first)
            #expect(try await tokens.current(user: 2) != first)
        }
    }

    @Test func aChangedKeyRevokesTheUnreadableTokenAndIssuesANewOne() async throws {
        try await TestDatabase.withStore { store in
            let old = try await FeedTokens(store: store, key: Self.keyA).current(user: 7)
            let withB = FeedTokens(store: store, key: Self.keyB)
            let new = try await withB.current(user: 7)
            #expect(new != old)
            #expect(try await withB.resolve(old) == .revoked)
            #expect(try await withB.resolve(new) == .active(user: 7))
            #expect(try await withB.current(user: 7) == new)
        }
    }

    /// Tokens issued before migration 0004 (derived, no sealed copy) keep working and showing.
    @Test func tokensIssuedBeforeSealingStillWork() async throws {
        try await TestDatabase.withStore { store in
            var secret = ""
            for try await value in try await store.client.query(
                "SELECT value FROM server_secrets WHERE name = 'feed_token_key'",
                logger: TestDatabase.logger
            ).decode(String.self) { secret = value }
            let mac = HMAC<SHA256>.authenticationCode(
                for: Array("3:1".utf8),
                using: SymmetricKey(data: Array(secret.utf8))
            )
            let legacy = "cal_" + Secrets.base64URL(Array(mac))
            try await store.client.query(
                "INSERT INTO feed_tokens (token_hash, user_id, generation) VALUES (\(Secrets.storedHash(legacy)), 3, 1)",
                logger: TestDatabase.logger
            )
            let tokens = FeedTokens(store: store, key: nil)
            #expect(try await tokens.current(user: 3) == legacy)
            #expect(try await tokens.resolve(legacy) == .active(user: 3))
            let rotated = try await tokens.rotate(user: 3)
            #expect(rotated != legacy)
            #expect(try await tokens.resolve(legacy) == .revoked)
            #expect(try await tokens.current(user: 3) == rotated)
        }
    }

    @Test func keysParseFromHexOrBase64AndNothingElse() throws {
        let bytes = (0..<32).map { UInt8($0 * 7 % 256) }
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let base64 = Data(bytes).base64EncodedString()
        for text in [hex, hex.uppercased(), base64, Secrets.base64URL(bytes), " \(hex)\n"] {
            let key = try FeedTokenKey(parsing: text)
            #expect(key.key.withUnsafeBytes { Array($0) } == bytes, "\(text)")
        }
        for text in ["", "abc", String(hex.dropLast(2)), Data(bytes.dropLast()).base64EncodedString(), hex + "00"] {
            #expect(throws: FeedTokenKey.Invalid.self, "\(text)") { try FeedTokenKey(parsing: text) }
        }
    }
}
