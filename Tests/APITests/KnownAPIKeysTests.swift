import AlmanacTestSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import API

@Suite("API keys remembered by the process")
struct KnownAPIKeysTests {
    @Test func aValidKeyIsLookedUpOnceAndAnUnknownOneEveryTime() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let keys = app.services.users.knownKeys
            let before = keys.databaseLookups
            for _ in 0..<5 {
                #expect(try await app.send(.get, "/api/v1/todos", auth: alice.authorization).status == .ok)
            }
            #expect(keys.databaseLookups == before + 1)
            for _ in 0..<3 {
                #expect(try await app.send(.get, "/api/v1/todos", auth: "Bearer alm_nope").status == .unauthorized)
            }
            #expect(keys.databaseLookups == before + 4)
            // The remembered key still answers as its own user only.
            let bob = try await app.user("bob")
            _ = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: #"{"title": "a"}"#)
            #expect(try await app.send(.get, "/api/v1/todos", auth: bob.authorization).text == "[]")
            #expect(try await app.send(.get, "/api/v1/todos/1", auth: alice.authorization).status == .ok)
            #expect(keys.databaseLookups == before + 5)
        }
    }

    /// A key is looked up again once its lifetime is over (a key removed by hand with SQL, or a
    /// restored database, is refused within it).
    @Test func aRememberedKeyExpires() async throws {
        let keys = KnownAPIKeys(capacity: 10, lifetime: .milliseconds(50))
        let hash = ByteBuffer(bytes: [7])
        keys.remember(AuthenticatedUser(id: 7, name: "u7"), hash: hash)
        #expect(keys.user(hash: hash)?.id == 7)
        try await Task.sleep(for: .milliseconds(120))
        #expect(keys.user(hash: hash) == nil)
        #expect(keys.count == 0)
        let never = KnownAPIKeys(capacity: 10, lifetime: .zero)
        never.remember(AuthenticatedUser(id: 1, name: "u"), hash: hash)
        #expect(never.user(hash: hash) == nil)
    }

    @Test func theMemoryIsBoundedAndKeepsTheNewest() {
        let keys = KnownAPIKeys(capacity: 3)
        for id in 1...10 {
            let hash = ByteBuffer(bytes: [UInt8(id)])
            keys.remember(AuthenticatedUser(id: Int64(id), name: "u\(id)"), hash: hash)
            #expect(keys.count <= 3)
            #expect(keys.user(hash: hash)?.id == Int64(id))
        }
        let none = KnownAPIKeys(capacity: 0)
        none.remember(AuthenticatedUser(id: 1, name: "u"), hash: ByteBuffer(bytes: [1]))
        #expect(none.count == 0)
    }
}
