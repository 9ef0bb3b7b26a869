import API
import AlmanacTestSupport
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Todo API over HTTP")
struct TodoAPITests {
    @Test func healthIsExactlyOK() async throws {
        try await TestApp.run { app in
            let response = try await app.send(.get, "/api/v1/health")
            #expect(response.status == .ok)
            #expect(try response.object() as NSDictionary == ["status": "ok"] as NSDictionary)
        }
    }

    @Test func createGetListUpdateDelete() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            var response = try await app.send(.get, "/api/v1/todos", auth: alice.authorization)
            #expect(response.status == .ok)
            #expect(response.text == "[]")

            response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "Buy milk", "deadline_at": "2023-02-27T00:00:00"}"#
            )
            #expect(response.status == .created)
            let created = try response.object()
            #expect(created["id"] as? Int == 1)
            #expect(created["title"] as? String == "Buy milk")
            #expect(created["description"] as? String == "")
            #expect(created["completed"] as? Bool == false)
            #expect(created["deadline_at"] as? String == "2023-02-27T00:00:00")
            #expect(created["created_at"] is String && created["updated_at"] is String)

            response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "Second"}"#
            )
            #expect(try response.object()["id"] as? Int == 2)
            #expect(try response.object()["deadline_at"] is NSNull)

            response = try await app.send(.get, "/api/v1/todos/1", auth: alice.authorization)
            #expect(response.status == .ok)
            #expect(try response.object()["title"] as? String == "Buy milk")

            response = try await app.send(
                .put,
                "/api/v1/todos/1",
                auth: alice.authorization,
                json: #"{"completed": true, "description": "two litres"}"#
            )
            #expect(response.status == .ok)
            #expect(try response.object()["completed"] as? Bool == true)
            #expect(try response.object()["description"] as? String == "two litres")
            #expect(try response.object()["title"] as? String == "Buy milk")

            response = try await app.send(.get, "/api/v1/todos?completed=true", auth: alice.authorization)
            #expect((try response.json() as? [[String: Any]])?.map { $0["id"] as? Int } == [1])
            response = try await app.send(.get, "/api/v1/todos?completed=false", auth: alice.authorization)
            #expect((try response.json() as? [[String: Any]])?.map { $0["id"] as? Int } == [2])
            response = try await app.send(.get, "/api/v1/todos", auth: alice.authorization)
            #expect((try response.json() as? [[String: Any]])?.map { $0["id"] as? Int } == [1, 2])

            response = try await app.send(.delete, "/api/v1/todos/1", auth: alice.authorization)
            #expect(response.status == .ok)
            #expect(try response.object()["id"] as? Int == 1)
            response = try await app.send(.delete, "/api/v1/todos/1", auth: alice.authorization)
            #expect(response.status == .ok)
            response = try await app.send(.get, "/api/v1/todos/1", auth: alice.authorization)
            #expect(response.status == .notFound)
            #expect(response.errorMessage == "todo 1 not found")

            // Ids are never reused after a delete.
            response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "Third"}"#
            )
            #expect(try response.object()["id"] as? Int == 3)
        }
    }

    @Test(arguments: [
        "2023-02-27T00:00:00", "2023-02-27T10:30:00.123456", "2023-02-27 10:30:00", "2023-02-27T10:30:00Z",
        "2023-02-27T10:30:00+02:00", "2023-02-27",
    ])
    func acceptedDeadlinesAreEchoedExactly(deadline: String) async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "t", "deadline_at": "\#(deadline)"}"#
            )
            #expect(response.status == .created)
            #expect(try response.object()["deadline_at"] as? String == deadline)
        }
    }

    @Test func windowReturnsDueSoonAndOverdueOnly() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            for (title, deadline) in [("overdue", "2001-01-01"), ("far", "2999-01-01T00:00:00"), ("none", nil)] {
                let deadlineJSON = deadline.map { #", "deadline_at": "\#($0)""# } ?? ""
                _ = try await app.send(
                    .post,
                    "/api/v1/todos",
                    auth: alice.authorization,
                    json: #"{"title": "\#(title)"\#(deadlineJSON)}"#
                )
            }
            let soon = ISO8601DateFormatter().string(from: Date().addingTimeInterval(2 * 86_400)).prefix(19)
            _ = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "soon", "deadline_at": "\#(soon)Z"}"#
            )
            let response = try await app.send(.get, "/api/v1/todos?window=7", auth: alice.authorization)
            #expect(response.status == .ok)
            let titles = (try response.json() as? [[String: Any]])?.compactMap { $0["title"] as? String }
            #expect(titles == ["overdue", "soon"])
        }
    }

    @Test func bulkCompletionReportsUnknownIds() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            for i in 1...3 {
                _ = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: #"{"title": "t\#(i)"}"#)
            }
            _ = try await app.send(.put, "/api/v1/todos/3", auth: alice.authorization, json: #"{"completed": true}"#)
            let response = try await app.send(
                .post,
                "/api/v1/todos/complete",
                auth: alice.authorization,
                json: #"{"ids": [1, 2, 3, 99, 1]}"#
            )
            #expect(response.status == .ok)
            let body = try response.object()
            #expect(body["completed"] as? [Int] == [1, 2])
            #expect(body["already_completed"] as? [Int] == [3])
            #expect(body["not_found"] as? [Int] == [99])
            let open = try await app.send(.get, "/api/v1/todos?completed=false", auth: alice.authorization)
            #expect(open.text == "[]")
            // One command, one event.
            let events = try await app.services.store.readStream(alice.id)
            #expect(events.filter { $0.type == "TodosCompleted" }.count == 1)
        }
    }

    /// Every bad input is a 4xx with a JSON error and changes nothing.
    @Test(arguments: [
        (#"{"description": "no title"}"#, "title is required"),
        (#"{"title": ""}"#, "title must not be empty"),
        (#"{"title": "   "}"#, "title must not be empty"),
        (#"{"title": 5}"#, "title must be a string, got a number"),
        (#"{"title": "t", "id": 3}"#, "unknown field 'id'"),
        (#"{"title": "t", "colour": "red"}"#, "unknown field 'colour'"),
        (#"{"title": "t", "completed": "yes"}"#, "completed must be true or false"),
        (#"{"title": "t", "deadline_at": "tomorrow"}"#, "deadline_at must be an ISO 8601"),
        (#"{"title": "t", "deadline_at": "2023-02-30"}"#, "deadline_at must be an ISO 8601"),
        (#"{"title": "t", "deadline_at": 20230227}"#, "deadline_at must be a string"),
        (#"not json"#, "request body is not valid JSON"),
        (#"[1, 2]"#, "request body must be a JSON object"),
        ("", "request body must be a JSON object"),
    ])
    func badCreatesAre400AndChangeNothing(body: String, message: String) async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let response = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: body)
            #expect(response.status == .badRequest)
            #expect(response.errorMessage?.contains(message) == true, "\(response.text)")
            #expect(try await app.services.store.version(of: alice.id) == 1)
        }
    }

    @Test func tooLongTitleIs400() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let title = String(repeating: "a", count: 501)
            let response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "\#(title)"}"#
            )
            #expect(response.status == .badRequest)
            #expect(response.errorMessage == "title must be at most 500 characters")
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let description = String(repeating: "x", count: 1_100_000)
            let response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "t", "description": "\#(description)"}"#
            )
            #expect(response.status == .contentTooLarge)
            #expect(response.errorMessage?.contains("larger than 1048576 bytes") == true)
            #expect(try await app.services.store.version(of: alice.id) == 1)
        }
    }

    @Test func badUpdatesAre400AndChangeNothing() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            _ = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: #"{"title": "t"}"#)
            for body in [#"{"id": 2}"#, #"{"title": null}"#, #"{"completed": null}"#, #"{"nope": 1}"#, "[]"] {
                let response = try await app.send(.put, "/api/v1/todos/1", auth: alice.authorization, json: body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect(response.errorMessage != nil)
            }
            #expect(try await app.services.store.version(of: alice.id) == 2)
            let missing = try await app.send(
                .put,
                "/api/v1/todos/9",
                auth: alice.authorization,
                json: #"{"title": "x"}"#
            )
            #expect(missing.status == .notFound)
        }
    }

    @Test func updateClearsDeadlineWithNull() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            _ = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "t", "deadline_at": "2024-01-01"}"#
            )
            let response = try await app.send(
                .put,
                "/api/v1/todos/1",
                auth: alice.authorization,
                json: #"{"deadline_at": null}"#
            )
            #expect(response.status == .ok)
            #expect(try response.object()["deadline_at"] is NSNull)
        }
    }

    @Test(arguments: ["/api/v1/todos?completed=maybe", "/api/v1/todos?window=-1", "/api/v1/todos?window=soon"])
    func invalidFiltersAre400(uri: String) async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let response = try await app.send(.get, uri, auth: alice.authorization)
            #expect(response.status == .badRequest)
            #expect(response.errorMessage != nil)
        }
    }

    @Test func bulkCompletionLimitsAndTypes() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let tooMany = "[" + (1...10_001).map(String.init).joined(separator: ",") + "]"
            for body in [#"{"ids": "1"}"#, #"{"ids": [1.5]}"#, #"{"ids": [0]}"#, #"{}"#, #"{"ids": \#(tooMany)}"#] {
                let response = try await app.send(
                    .post,
                    "/api/v1/todos/complete",
                    auth: alice.authorization,
                    json: body
                )
                #expect(response.status == .badRequest, "\(body.prefix(40)): \(response.text)")
            }
        }
    }

    @Test func unknownRoutesAndMethodsAreJSON() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let missing = try await app.send(.get, "/api/v1/nothing", auth: alice.authorization)
            #expect(missing.status == .notFound)
            #expect(missing.errorMessage != nil)
            let wrongID = try await app.send(.get, "/api/v1/todos/abc", auth: alice.authorization)
            #expect(wrongID.status == .notFound)
            #expect(wrongID.errorMessage != nil)
        }
    }

    @Test func fiftyConcurrentWritersOnOneUserLoseNoUpdate() async throws {
        try await TestApp.run(poolSize: 20) { app in
            let alice = try await app.user("alice")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<50 {
                    group.addTask {
                        try await app.send(
                            .post,
                            "/api/v1/todos",
                            auth: alice.authorization,
                            json: #"{"title": "w\#(i)"}"#
                        )
                        .status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .created }, "\(statuses)")
            let list = try await app.send(.get, "/api/v1/todos", auth: alice.authorization)
            let todos = try list.json() as? [[String: Any]] ?? []
            #expect(todos.compactMap { $0["id"] as? Int } == Array(1...50))
            #expect(Set(todos.compactMap { $0["title"] as? String }) == Set((0..<50).map { "w\($0)" }))
            let versions = try await app.services.store.readStream(alice.id).map(\.version)
            #expect(versions == Array(1...51))
        }
    }
}
