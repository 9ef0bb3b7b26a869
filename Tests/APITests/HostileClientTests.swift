import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// A web page the user visits, DNS rebinding, and inputs that used to answer 500.
@Suite("Hostile clients and inputs")
struct HostileClientTests {
    static let host = HTTPField.Name("Host")!

    @Test func bodiesMustBeDeclaredJSON() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let response = try await app.send(
                    .post,
                    "/api/v1/todos",
                    auth: alice.authorization,
                    json: #"{"title": "from a form"}"#,
                    headers: [.contentType: type]
                )
                // `send` sets application/json only when no type is given: this one is the page's.
                #expect(response.status == .unsupportedMediaType, "\(type)")
                #expect(response.errorMessage?.contains("application/json") == true)
            }
            let list = try await app.send(.get, "/api/v1/todos", auth: alice.authorization)
            #expect((try list.json() as? [Any])?.isEmpty == true, "nothing was created")
            let charset = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "ok"}"#,
                headers: [.contentType: "application/json; charset=utf-8"]
            )
            #expect(charset.status == .created)
        }
    }

    @Test func authNoneAnswersOnlyThisMachine() async throws {
        try await TestApp.run(auth: .none) { app in
            for host in ["evil.example", "evil.example:6400", "127.evil.example", "10.0.0.1:6400"] {
                let feed = try await app.send(.get, "/api/v1/feed", headers: [Self.host: host])
                #expect(feed.status == .forbidden, "Host: \(host)")
                #expect(feed.text.contains("cal_") == false, "the feed URL must not leak to \(host)")
            }
            let foreign = try await app.send(
                .post,
                "/api/v1/todos",
                json: #"{"title": "cross-site"}"#,
                headers: [.origin: "https://evil.example"]
            )
            #expect(foreign.status == .forbidden)
            let rotate = try await app.send(.post, "/api/v1/feed/rotate", headers: [.origin: "null"])
            #expect(rotate.status == .forbidden)
            for host in ["localhost:6400", "127.0.0.1:6400", "[::1]:6400", "127.1.2.3"] {
                let ok = try await app.send(
                    .get,
                    "/api/v1/todos",
                    headers: [Self.host: host, .origin: "http://\(host)"]
                )
                #expect(ok.status == .ok, "Host: \(host)")
            }
            let list = try await app.send(.get, "/api/v1/todos")
            #expect((try list.json() as? [Any])?.isEmpty == true, "nothing was created cross-site")
        }
    }

    @Test func loopbackIsParsedNotPrefixMatched() {
        for host in ["localhost", "127.0.0.1", "127.255.0.9", "::1", "[::1]", "LOCALHOST", "app.localhost"] {
            #expect(Loopback.isLoopback(host: host), "\(host)")
        }
        for host in ["127.evil.example", "0.0.0.0", "10.0.0.1", "::", "::2", "example.com", "", "127.0.0.1.nip.io"] {
            #expect(!Loopback.isLoopback(host: host), "\(host)")
        }
        #expect(Loopback.isLoopback(authority: "[::1]:80"))
        #expect(!Loopback.isLoopback(authority: "evil.example:127"))
        #expect(Loopback.isLoopback(origin: "http://localhost:3000"))
        #expect(!Loopback.isLoopback(origin: "null"))
        #expect(!Loopback.isLoopback(origin: "file://"))
    }

    /// Each was a 500 (jsonb refuses U+0000; years below 1000 were written unpadded and
    /// misread; year 0 does not exist).
    @Test func textAndDatesThatUsedToFailAreRefusedOrRoundTrip() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            for body in [
                #"{"title": "a\u0000b"}"#, #"{"title": "a", "description": "x\u0000"}"#,
                #"{"title": "a", "deadline_at": "0001-01-01T00:00+01:00"}"#,
                #"{"title": "a", "deadline_at": "0000-06-01"}"#,
            ] {
                let response = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: body)
                #expect(response.status == .badRequest, "\(body): \(response.text)")
                #expect(response.errorMessage != nil)
            }
            let combining = "e" + String(repeating: "\u{301}", count: 100_000)
            let huge = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: "{\"title\": \"\(combining)\"}"
            )
            #expect(huge.status == .badRequest)
            #expect(huge.errorMessage?.contains("bytes") == true)
            for deadline in ["0050-01-02", "0012-03-04T05:06:07", "0999-12-31T23:59:59Z", "0001-01-01T00:00-01:00"] {
                let created = try await app.send(
                    .post,
                    "/api/v1/todos",
                    auth: alice.authorization,
                    json: #"{"title": "old", "deadline_at": "\#(deadline)"}"#
                )
                #expect(created.status == .created, "\(deadline): \(created.text)")
                let id = try #require(try created.object()["id"] as? Int)
                let fetched = try await app.send(.get, "/api/v1/todos/\(id)", auth: alice.authorization)
                #expect(try fetched.object()["deadline_at"] as? String == deadline)
                let window = try await app.send(.get, "/api/v1/todos?window=1", auth: alice.authorization)
                #expect(window.status == .ok)
                let due = (try window.json() as? [[String: Any]])?.compactMap { $0["id"] as? Int } ?? []
                #expect(due.contains(id), "a deadline in year \(deadline.prefix(4)) is overdue")
            }
        }
    }

    @Test func aTooLongBulkCompletionNamesTheLimit() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let ids = (0...Limits.bulkIDs).map { _ in "0" }.joined(separator: ",")
            let response = try await app.send(
                .post,
                "/api/v1/todos/complete",
                auth: alice.authorization,
                json: #"{"ids": [\#(ids)]}"#
            )
            #expect(response.status == .badRequest)
            #expect(response.errorMessage == "at most \(Limits.bulkIDs) ids per request, got \(Limits.bulkIDs + 1)")
        }
    }
}
