import API
import AlmanacTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Finding 6 of the reliability issue: a client that retries a write whose outcome it could not
/// know (the connection dropped after COMMIT) must not write twice. With `Idempotency-Key` the
/// retry gets the first answer again.
@Suite("Idempotency-Key on writes")
struct IdempotencyTests {
    static let key = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!

    static func keyed(_ key: String) -> HTTPFields { [Self.key: key] }

    static func todoCount(_ app: TestApp, _ auth: String) async throws -> Int {
        let list = try await app.send(.get, "/api/v1/todos", auth: auth)
        return try #require(try list.json() as? [Any]).count
    }

    @Test func aRetriedCreateGetsTheFirstAnswerAndWritesOnce() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let body = #"{"title": "Pay rent", "deadline_at": "2030-01-01T09:00:00"}"#
            let first = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: body,
                headers: Self.keyed("create-1")
            )
            #expect(first.status == .created)
            #expect(first.headers[Self.replayed] == nil)
            let again = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: body,
                headers: Self.keyed("create-1")
            )
            #expect(again.status == .created)
            #expect(again.headers[Self.replayed] == "true")
            #expect(again.text == first.text)
            #expect(try await Self.todoCount(app, alice.authorization) == 1)
            // Without a key, the same body is a new todo, as before.
            let unkeyed = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: body)
            #expect(try unkeyed.object()["id"] as? Int == 2)
            // A new key is a new write.
            let other = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: body,
                headers: Self.keyed("create-2")
            )
            #expect(try other.object()["id"] as? Int == 3)
            #expect(try await Self.todoCount(app, alice.authorization) == 3)
        }
    }

    @Test func theSameKeyWithAnotherRequestIs422AndChangesNothing() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let created = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "a"}"#,
                headers: Self.keyed("k")
            )
            #expect(created.status == .created)
            for (method, path, json) in [
                (HTTPRequest.Method.post, "/api/v1/todos", #"{"title": "b"}"#),
                (.put, "/api/v1/todos/1", #"{"title": "a"}"#),
                (.post, "/api/v1/todos/complete", #"{"ids": [1]}"#),
                (.delete, "/api/v1/todos/1", nil),
            ] {
                let response = try await app.send(
                    method,
                    path,
                    auth: alice.authorization,
                    json: json,
                    headers: Self.keyed("k")
                )
                #expect(response.status == .unprocessableContent, "\(method) \(path)")
                #expect(response.errorMessage?.contains("Idempotency-Key") == true)
            }
            let todo = try await app.send(.get, "/api/v1/todos/1", auth: alice.authorization).object()
            #expect(todo["title"] as? String == "a")
            #expect(todo["completed"] as? Bool == false)
            #expect(try await Self.todoCount(app, alice.authorization) == 1)
        }
    }

    @Test func updatesCompletionsAndDeletesReplayTheirFirstAnswer() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            for title in ["a", "b"] {
                _ = try await app.send(
                    .post,
                    "/api/v1/todos",
                    auth: alice.authorization,
                    json: "{\"title\": \"\(title)\"}"
                )
            }
            let update = { () async throws -> TestResponse in
                try await app.send(
                    .put,
                    "/api/v1/todos/1",
                    auth: alice.authorization,
                    json: #"{"title": "renamed"}"#,
                    headers: Self.keyed("u")
                )
            }
            let firstUpdate = try await update()
            // A change in between: the replay is still the first answer, not the current state.
            _ = try await app.send(.put, "/api/v1/todos/1", auth: alice.authorization, json: #"{"title": "later"}"#)
            let replayedUpdate = try await update()
            #expect(replayedUpdate.headers[Self.replayed] == "true")
            #expect(replayedUpdate.text == firstUpdate.text)
            #expect(
                try await app.send(.get, "/api/v1/todos/1", auth: alice.authorization).object()["title"] as? String
                    == "later"
            )

            let complete = { () async throws -> TestResponse in
                try await app.send(
                    .post,
                    "/api/v1/todos/complete",
                    auth: alice.authorization,
                    json: #"{"ids": [1, 2, 9]}"#,
                    headers: Self.keyed("c")
                )
            }
            let firstCompletion = try await complete()
            #expect(try firstCompletion.object()["completed"] as? [Int] == [1, 2])
            let replayedCompletion = try await complete()
            #expect(replayedCompletion.text == firstCompletion.text)
            #expect(replayedCompletion.headers[Self.replayed] == "true")

            // An update of a missing todo is 404, and its replay too (nothing was written).
            let missing = try await app.send(
                .put,
                "/api/v1/todos/77",
                auth: alice.authorization,
                json: #"{"title": "x"}"#,
                headers: Self.keyed("m")
            )
            #expect(missing.status == .notFound)
            let missingAgain = try await app.send(
                .put,
                "/api/v1/todos/77",
                auth: alice.authorization,
                json: #"{"title": "x"}"#,
                headers: Self.keyed("m")
            )
            #expect(missingAgain.status == .notFound)
            #expect(missingAgain.text == missing.text)

            let firstDelete = try await app.send(
                .delete,
                "/api/v1/todos/2",
                auth: alice.authorization,
                headers: Self.keyed("d")
            )
            #expect(try firstDelete.object()["id"] as? Int == 2)
            let replayedDelete = try await app.send(
                .delete,
                "/api/v1/todos/2",
                auth: alice.authorization,
                headers: Self.keyed("d")
            )
            // Without the key a second delete answers {}; with it, the first answer again.
            #expect(replayedDelete.text == firstDelete.text)
            #expect(try await Self.todoCount(app, alice.authorization) == 1)
        }
    }

    @Test func keysBelongToTheirUser() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let bob = try await app.user("bob")
            let a = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "alice's"}"#,
                headers: Self.keyed("shared")
            )
            let b = try await app.send(
                .post,
                "/api/v1/todos",
                auth: bob.authorization,
                json: #"{"title": "bob's"}"#,
                headers: Self.keyed("shared")
            )
            #expect(a.status == .created && b.status == .created)
            #expect(b.headers[Self.replayed] == nil)
            #expect(try b.object()["title"] as? String == "bob's")
        }
    }

    @Test(arguments: ["", String(repeating: "k", count: 256), "with space", "caf\u{e9}"])
    func malformedKeysAre400AndWriteNothing(_ key: String) async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            var headers = HTTPFields()
            headers.append(HTTPField(name: Self.key, value: key))
            let response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "a"}"#,
                headers: headers
            )
            #expect(response.status == .badRequest)
            #expect(response.errorMessage?.contains("Idempotency-Key") == true)
            #expect(try await Self.todoCount(app, alice.authorization) == 0)
        }
    }

    @Test func concurrentRequestsWithOneKeyWriteOnce() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await app.send(
                            .post,
                            "/api/v1/todos",
                            auth: alice.authorization,
                            json: #"{"title": "once"}"#,
                            headers: Self.keyed("race")
                        ).text
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(bodies).count == 1)
            #expect(try await Self.todoCount(app, alice.authorization) == 1)
        }
    }
}
