import AlmanacTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import API

/// Log lines kept in memory, for tests that check what a request logs.
final class CapturedLogs: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]

        /// Everything the line would print.
        var text: String { "\(message) " + metadata.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
    }

    private let lines = Mutex<[Line]>([])

    var all: [Line] { lines.withLock { $0 } }

    func append(_ line: Line) { lines.withLock { $0.append(line) } }

    /// A logger at `info` whose lines land here.
    func logger() -> Logger {
        var logger = Logger(label: "request-log-test") { _ in Handler(sink: self) }
        logger.logLevel = .info
        return logger
    }

    struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = self.metadata
            merged.merge(event.metadata ?? [:]) { $1 }
            sink.append(
                Line(
                    level: event.level,
                    message: "\(event.message)",
                    metadata: merged.mapValues { "\($0)" }
                )
            )
        }
    }
}

@Suite("Request ids and request logs")
struct RequestLogTests {
    static let requestID = HTTPField.Name("X-Request-Id")!

    @Test func aValidRequestIDRoundTripsAndOthersAreReplaced() async throws {
        try await TestApp.run { app in
            let given = "client-42_abc.DEF:~"
            let echoed = try await app.send(.get, "/api/v1/health", headers: [Self.requestID: given])
            #expect(echoed.status == .ok)
            #expect(echoed.headers[Self.requestID] == given)

            let first = try #require(try await app.send(.get, "/api/v1/health").headers[Self.requestID])
            let second = try #require(try await app.send(.get, "/api/v1/health").headers[Self.requestID])
            #expect(UUID(uuidString: first) != nil, "\(first)")
            #expect(first != second)

            for invalid in [String(repeating: "a", count: 129), "has space", "caf\u{E9}", "tab\there"] {
                let answer = try await app.send(.get, "/api/v1/health", headers: [Self.requestID: invalid])
                let replaced = try #require(answer.headers[Self.requestID])
                #expect(replaced != invalid)
                #expect(UUID(uuidString: replaced) != nil, "\(replaced)")
            }
            let longest = String(repeating: "b", count: 128)
            #expect(
                try await app.send(.get, "/api/v1/health", headers: [Self.requestID: longest]).headers[Self.requestID]
                    == longest
            )
        }
    }

    @Test func generatedRequestIDsAreLowerCaseRandomUUIDs() throws {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = RequestID.generate()
            let parsed = try #require(UUID(uuidString: id), "\(id)")
            #expect(parsed.uuidString.lowercased() == id)
            let bytes = withUnsafeBytes(of: parsed.uuid) { Array($0) }
            #expect(bytes[6] >> 4 == 4, "version 4: \(id)")
            #expect(bytes[8] >> 6 == 0b10, "RFC 4122 variant: \(id)")
            seen.insert(id)
        }
        #expect(seen.count == 10_000)
    }

    /// The mixing function is SplitMix64's: its first output from state 0 is the published one.
    @Test func requestIDsMixWithSplitMix64() {
        #expect(RequestID.mix(0) == 0xE220_A839_7B1D_CDAF)
        #expect(RequestID.mix(0x9E37_79B9_7F4A_7C15) == 0x6E78_9E6A_A1B9_65F4)
    }

    /// The id is on the lines a request writes whenever its logger lets any through (the request
    /// line is `info`, failures `error`); only above `error` is it left off.
    @Test(arguments: [Logger.Level.error, .warning])
    func errorLinesCarryTheRequestIDAtQuietLevels(level: Logger.Level) async throws {
        let logs = CapturedLogs()
        var logger = logs.logger()
        logger.logLevel = level
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestLog())
        router.get("/fails") { _, context -> HTTPResponse.Status in
            context.logger.error("something failed")
            return .ok
        }
        try await Application(router: router, logger: logger).test(.router) { client in
            let answer = try await client.execute(uri: "/fails", method: .get, headers: [Self.requestID: "quiet-1"])
            #expect(answer.headers[Self.requestID] == "quiet-1")
        }
        let failed = logs.all.filter { $0.message == "something failed" }
        #expect(failed.count == 1)
        #expect(failed.first?.metadata["request_id"] == "quiet-1", "\(failed.map(\.text))")
        #expect(!logs.all.contains { $0.message == "request" })
    }

    @Test func errorAnswersCarryTheRequestID() async throws {
        try await TestApp.run { app in
            for (path, status) in [("/api/v1/todos", HTTPResponse.Status.unauthorized), ("/nowhere", .notFound)] {
                let answer = try await app.send(.get, path, headers: [Self.requestID: "err-\(status.code)"])
                #expect(answer.status == status)
                #expect(answer.headers[Self.requestID] == "err-\(status.code)")
                #expect(answer.errorMessage != nil)
            }
            let bad = try await app.send(.post, "/api/v1/todos", auth: "Bearer nope", json: "{")
            #expect(bad.status == .unauthorized)
            #expect(bad.headers[Self.requestID] != nil)
        }
    }

    @Test func oneLinePerRequestWithItsFieldsAndNoSecret() async throws {
        let logs = CapturedLogs()
        try await TestApp.run(logger: logs.logger()) { app in
            let alice = try await app.user("alice")
            let key = String(alice.authorization.dropFirst("Bearer ".count))
            let listed = try await app.send(
                .get,
                "/api/v1/todos",
                auth: alice.authorization,
                headers: [Self.requestID: "list-1"]
            )
            #expect(listed.status == .ok)
            try await app.project()
            let feed = try await app.feedPath(alice.authorization)
            let token = try #require(feed.split(separator: "/").last.map { String($0.dropLast(".ics".count)) })
            #expect(token.count > 20)
            let served = try await app.send(.get, feed, headers: [Self.requestID: "feed-1"])
            #expect(served.status == .ok)
            let missing = try await app.send(.get, "/api/v1/todos/999", auth: alice.authorization)
            #expect(missing.status == .notFound)

            let requests = logs.all.filter { $0.message == "request" }
            let list = try #require(requests.first { $0.metadata["request_id"] == "list-1" })
            #expect(list.level == .info)
            #expect(list.metadata["method"] == "GET")
            #expect(list.metadata["route"] == "/api/v1/todos")
            #expect(list.metadata["status"] == "200")
            #expect(list.metadata["user_id"] == String(alice.id))
            #expect(Double(list.metadata["duration_ms"] ?? "") != nil, "\(list.metadata)")
            let feedLine = try #require(requests.first { $0.metadata["request_id"] == "feed-1" })
            #expect(feedLine.metadata["route"] == "/feeds/{token}.ics")
            #expect(feedLine.metadata["status"] == "200")
            #expect(feedLine.metadata["user_id"] == nil)
            let notFound = try #require(requests.first { $0.metadata["status"] == "404" })
            #expect(notFound.metadata["route"] == "/api/v1/todos/{id}", "\(notFound.metadata)")
            #expect(notFound.metadata["user_id"] == String(alice.id))
            // One line per request: the user's creation happened outside HTTP; 4 requests were sent.
            #expect(requests.count == 4, "\(requests.map(\.text))")
            for line in logs.all {
                #expect(!line.text.contains(key), "API key in \(line.text)")
                #expect(!line.text.contains(token), "feed token in \(line.text)")
            }
        }
    }
}
