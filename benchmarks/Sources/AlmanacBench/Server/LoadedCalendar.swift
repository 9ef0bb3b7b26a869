import API
import Domain
import EventStore
import Foundation
import NIOHTTP1
import PostgresNIO
import Projector
import Workload

/// A user whose calendar holds a corpus, projected and with its feed cached by the server.
/// Tracks which todos are open, so that every bulk completion really completes k todos.
final class LoadedCalendar {
    let corpus: CalendarCorpus
    let userID: Int64
    let apiKey: String
    let server: BenchServer.Running
    private(set) var feedURL = ""
    /// The ETag of the newest feed this client has seen.
    var etag = ""
    /// Ids of open todos, ascending.
    private(set) var open: [Int]

    var n: Int { corpus.size }

    private init(corpus: CalendarCorpus, userID: Int64, apiKey: String, server: BenchServer.Running) {
        self.corpus = corpus
        self.userID = userID
        self.apiKey = apiKey
        self.server = server
        open = corpus.todos.filter { !$0.completed }.map(\.todoID)
    }

    /// Creates a user and loads `corpus` through the command path in one transaction per chunk
    /// (not timed), then waits for the projection and warms the feed cache.
    static func load(_ corpus: CalendarCorpus, on server: BenchServer.Running) async throws -> LoadedCalendar {
        let clock = ContinuousClock()
        let start = clock.now
        let name = "bench-\(corpus.size)-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await server.services.users.create(name: name, timeZone: corpus.registration.timeZone)
        let calendar = LoadedCalendar(
            corpus: corpus,
            userID: created.user.id,
            apiKey: created.apiKey,
            server: server
        )
        let chunk = 5_000
        for first in stride(from: 0, to: corpus.size, by: chunk) {
            let events = corpus.todos[first..<min(first + chunk, corpus.size)].map { TodoEvent.todoCreated($0) }
            try await calendar.append(events)
            if corpus.size > chunk {
                Progress.log("load N = \(corpus.size): \(min(first + chunk, corpus.size)) todos appended")
            }
        }
        try await calendar.waitForProjection()
        // A steady state: planner statistics and the visibility map up to date, so that the first
        // measured writes do not race autovacuum over the rows just loaded.
        try await server.services.store.client.query(
            "VACUUM (ANALYZE) events, todos, calendar_entries, calendars, streams",
            logger: server.services.store.logger
        )
        calendar.feedURL = try await server.http.feedURL(auth: calendar.apiKey)
        try await calendar.refreshETag()
        Progress.log(
            "load N = \(corpus.size): user \(calendar.userID) loaded, projected and cached in \(String(format: "%.1f", (clock.now - start).milliseconds / 1000)) s"
        )
        return calendar
    }

    /// Appends events through the command executor (the stream row lock and the todo list included).
    func append(_ events: [TodoEvent]) async throws {
        try await server.services.commands.execute(user: userID) { _, _ in (events, ()) }
    }

    /// Waits until the projection has applied the user's whole stream.
    func waitForProjection(timeout: Duration = .seconds(900)) async throws {
        let store = server.services.store
        let target = try await store.version(of: userID)
        let calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let head = try await store.client.withConnection { try await calendars.head(user: userID, on: $0) }
            if let head, head.version >= target { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("the projection of user \(userID) did not reach version \(target)")
    }

    /// Fetches the feed unconditionally and remembers its ETag, once it shows the whole stream: the
    /// API answers from memory until its LISTEN hears of the projection's commit, so a feed fetched
    /// right after the projection caught up may still be the previous one.
    func refreshETag() async throws {
        let target = try await server.services.store.version(of: userID)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let reply = try server.http.expectSuccess(
                try await server.http.feed(feedURL, ifNoneMatch: nil),
                "GET feed"
            )
            etag = reply.headers.first(name: "ETag") ?? ""
            if EndToEndScenario.version(etag) >= target { return }
            guard ContinuousClock.now < deadline else {
                throw BenchError("the feed of user \(userID) still serves \(etag), not stream version \(target)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// `count` open todos spread over the calendar, now counted as completed. Reopens every todo
    /// first (not timed) when fewer than `count` are open.
    func takeOpen(_ count: Int) async throws -> [Int] {
        if open.count < count {
            try await reopenAll()
        }
        let ids = corpus.spreadIDs(count: count, from: open)
        let taken = Set(ids)
        open.removeAll { taken.contains($0) }
        return ids
    }

    /// Reopens every completed todo of the corpus, waits for the projection, refreshes the ETag.
    func reopenAll() async throws {
        let openSet = Set(open)
        let closed = (1...corpus.size).filter { !openSet.contains($0) }
        Progress.log("N = \(n): reopening \(closed.count) todos (not timed)")
        let at = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        for first in stride(from: 0, to: closed.count, by: 5_000) {
            try await append(
                closed[first..<min(first + 5_000, closed.count)].map { .todoReopened(TodoChange(todoID: $0, at: at)) }
            )
        }
        open = Array(1...corpus.size)
        try await waitForProjection()
        try await refreshETag()
    }
}
