import API
import AlmanacTestSupport
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Users, API keys and tenant isolation")
struct AuthAPITests {
    @Test func missingOrWrongKeyIs401() async throws {
        try await TestApp.run { app in
            _ = try await app.user("alice")
            let missing = try await app.send(.get, "/api/v1/todos")
            #expect(missing.status == .unauthorized)
            #expect(missing.errorMessage?.contains("missing API key") == true)
            let wrong = try await app.send(.get, "/api/v1/todos", auth: "Bearer alm_nope")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.errorMessage == "invalid API key")
        }
    }

    @Test func userBCannotReadChangeOrDeleteUserAsTodos() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let bob = try await app.user("bob")
            _ = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: #"{"title": "secret"}"#)
            #expect(try await app.send(.get, "/api/v1/todos/1", auth: bob.authorization).status == .notFound)
            #expect(try await app.send(.get, "/api/v1/todos", auth: bob.authorization).text == "[]")
            let put = try await app.send(.put, "/api/v1/todos/1", auth: bob.authorization, json: #"{"title": "mine"}"#)
            #expect(put.status == .notFound)
            let delete = try await app.send(.delete, "/api/v1/todos/1", auth: bob.authorization)
            #expect(delete.status == .ok)
            #expect(delete.text == "{}")
            let complete = try await app.send(
                .post,
                "/api/v1/todos/complete",
                auth: bob.authorization,
                json: #"{"ids": [1]}"#
            )
            #expect(try complete.object()["not_found"] as? [Int] == [1])
            // Alice's todo is untouched.
            let mine = try await app.send(.get, "/api/v1/todos/1", auth: alice.authorization)
            #expect(try mine.object()["title"] as? String == "secret")
            #expect(try mine.object()["completed"] as? Bool == false)
            // Bob's own first todo is his id 1.
            let own = try await app.send(.post, "/api/v1/todos", auth: bob.authorization, json: #"{"title": "bob's"}"#)
            #expect(try own.object()["id"] as? Int == 1)
        }
    }

    @Test func adminCreatesUsers() async throws {
        try await TestApp.run { app in
            var response = try await app.send(
                .post,
                "/api/v1/users",
                auth: "Bearer admin-secret",
                json: #"{"name": "carol"}"#
            )
            #expect(response.status == .created)
            let body = try response.object()
            #expect(body["name"] as? String == "carol")
            #expect(body["id"] is Int)
            let key = try #require(body["api_key"] as? String)
            #expect(key.count >= 40)
            response = try await app.send(.get, "/api/v1/todos", auth: "Bearer \(key)")
            #expect(response.status == .ok)

            response = try await app.send(
                .post,
                "/api/v1/users",
                auth: "Bearer admin-secret",
                json: #"{"name": "carol"}"#
            )
            #expect(response.status == .conflict)
            response = try await app.send(.post, "/api/v1/users", auth: "Bearer wrong", json: #"{"name": "dave"}"#)
            #expect(response.status == .unauthorized)
            response = try await app.send(.post, "/api/v1/users", auth: "Bearer \(key)", json: #"{"name": "dave"}"#)
            #expect(response.status == .unauthorized)
            response = try await app.send(.post, "/api/v1/users", auth: "Bearer admin-secret", json: #"{"name": ""}"#)
            #expect(response.status == .badRequest)
            response = try await app.send(.post, "/api/v1/users", auth: "Bearer admin-secret", json: #"{"nick": "x"}"#)
            #expect(response.status == .badRequest)
        }
    }

    @Test func userCreationIsForbiddenWithoutAnAdminToken() async throws {
        try await TestApp.run(adminToken: nil) { app in
            let response = try await app.send(.post, "/api/v1/users", auth: "Bearer x", json: #"{"name": "carol"}"#)
            #expect(response.status == .forbidden)
            #expect(response.errorMessage?.contains("ALMANAC_ADMIN_TOKEN") == true)
        }
    }

    @Test func keysAreStoredHashed() async throws {
        try await TestApp.run { app in
            let created = try await app.services.users.create(name: "erin")
            let rows = try await app.services.store.client.query(
                "SELECT encode(api_key_hash, 'hex') FROM users WHERE name = 'erin'",
                logger: TestDatabase.logger
            )
            for try await hash in rows.decode(String.self) {
                #expect(!hash.contains(created.apiKey))
                #expect(hash.count == 64)
            }
        }
    }

    @Test func authNoneActsAsTheDefaultUser() async throws {
        try await TestApp.run(auth: .none) { app in
            let response = try await app.send(.post, "/api/v1/todos", json: #"{"title": "no key needed"}"#)
            #expect(response.status == .created)
            let user = try await app.services.users.user(named: "default")
            #expect(user != nil)
            let list = try await app.send(.get, "/api/v1/todos")
            #expect((try list.json() as? [[String: Any]])?.count == 1)
        }
    }
}
