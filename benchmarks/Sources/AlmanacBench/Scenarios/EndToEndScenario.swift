import API
import Domain
import EventStore
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Projector
import Workload

/// Scenario 2, on real PostgreSQL through HTTP: the time from sending a write to the feed
/// returning the new bytes (the client polls with If-None-Match), versus the `full` job.
struct EndToEndScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    var http: AlmanacHTTP { calendars.server.http }

    func run(into results: inout RunResults) async throws {
        for n in plan.sizes {
            let calendar = try await calendars.calendar(n)
            try await run(calendar, into: &results)
        }
    }

    private func run(_ calendar: LoadedCalendar, into results: inout RunResults) async throws {
        let n = calendar.n
        let reps = plan.endToEndRepetitions

        // The O(N) floor of "new bytes served": downloading the unchanged, cached feed (all todos open).
        Progress.log("e2e: N = \(n): unconditional GET of the cached feed x \(reps)")
        var download: [Double] = []
        for rep in 0..<(reps + plan.warmup) {
            let (ms, reply) = try await timed { try await http.feed(calendar.feedURL, ifNoneMatch: nil) }
            try http.expectSuccess(reply, "GET feed")
            if rep >= plan.warmup { download.append(ms) }
        }
        record(&results, "feed download, unchanged (200)", n: n, samples: download)
        // The same for a client that accepts gzip (a calendar app does): the compressed blocks kept
        // in the cache, stitched into one gzip stream.
        var gzipDownload: [Double] = []
        var octets: (identity: Int, gzip: Int) = (0, 0)
        for rep in 0..<(reps + plan.warmup) {
            let (ms, reply) = try await timed { try await http.feed(calendar.feedURL, ifNoneMatch: nil, gzip: true) }
            try http.expectSuccess(reply, "GET feed (gzip)")
            guard reply.headers.first(name: "Content-Encoding") == "gzip" else {
                throw BenchError("a feed GET with Accept-Encoding: gzip was not answered gzip-encoded")
            }
            octets.gzip = reply.body.readableBytes
            if rep >= plan.warmup { gzipDownload.append(ms) }
        }
        octets.identity = try await http.feed(calendar.feedURL, ifNoneMatch: nil).body.readableBytes
        record(
            &results,
            "feed download, unchanged (200, gzip)",
            n: n,
            samples: gzipDownload,
            details: ["identity_octets": "\(octets.identity)", "gzip_octets": "\(octets.gzip)"]
        )

        Progress.log("e2e: N = \(n): single-todo edit x \(reps)")
        let edit = try await timeEdits(calendar, reps: reps, tag: "")
        record(&results, "edit: write acknowledged", n: n, k: 1, samples: edit.ack)
        record(&results, "edit: new feed served", n: n, k: 1, samples: edit.visible)
        Progress.log("e2e: N = \(n): single-todo edit, gzip client x \(reps)")
        let gzipEdit = try await timeEdits(calendar, reps: reps, tag: "gz ", gzip: true)
        record(&results, "edit: new feed served (gzip)", n: n, k: 1, samples: gzipEdit.visible)

        var bulk: [(k: Int, visible: Double)] = []
        for k in plan.ks where k <= n {
            Progress.log("e2e: N = \(n): bulk completion k = \(k) x \(reps)")
            var ack: [Double] = []
            var visible: [Double] = []
            for rep in 0..<(reps + plan.warmup) {
                let timing = try await timeCompletion(of: k, in: calendar)
                if rep >= plan.warmup {
                    ack.append(timing.ack)
                    visible.append(timing.visible)
                }
            }
            record(&results, "bulk completion: write acknowledged", n: n, k: k, samples: ack)
            record(&results, "bulk completion: new feed served", n: n, k: k, samples: visible)
            bulk.append((k, Summary(visible).median))
            // The headline sizes (k ≤ 1,000) again with a client that accepts gzip.
            guard k <= Self.gzipLargestK else { continue }
            Progress.log("e2e: N = \(n): bulk completion k = \(k), gzip client x \(reps)")
            // From a calendar with every todo open (the feed's size, hence the work of serving the
            // change, depends on how many todos are open; the stage run below starts alike).
            try await calendar.reopenAll()
            var gzipVisible: [Double] = []
            for rep in 0..<(reps + plan.warmup) {
                let timing = try await timeCompletion(of: k, in: calendar, gzip: true)
                if rep >= plan.warmup { gzipVisible.append(timing.visible) }
            }
            record(&results, "bulk completion: new feed served (gzip)", n: n, k: k, samples: gzipVisible)
        }
        if let k = plan.ks.filter({ $0 <= min(n, Self.gzipLargestK) }).max() {
            try await timeStages(of: k, in: calendar, reps: reps, into: &results)
        }

        Progress.log("e2e: N = \(n): full job x \(plan.fullJobRepetitions)")
        var wall: [Double] = []
        var server: [Double] = []
        var allMatch = true
        for rep in 0..<(plan.fullJobRepetitions + plan.warmup) {
            let (ms, status) = try await fullJob(calendar)
            allMatch = allMatch && status.matches_incremental == true
            if rep >= plan.warmup {
                wall.append(ms)
                server.append(status.duration_ms ?? .nan)
            }
        }
        record(
            &results,
            "full job: submitted to SUCCESS",
            n: n,
            samples: wall,
            details: ["matches_incremental": "\(allMatch)"]
        )
        record(&results, "full job: server regeneration (duration_ms)", n: n, samples: server)
        let full = Summary(wall).median
        results.ratios.append(
            Ratio(
                scenario: "e2e",
                n: n,
                change: "single-todo edit",
                full: full,
                incremental: Summary(edit.visible).median
            )
        )
        for (k, visible) in bulk {
            results.ratios.append(
                Ratio(scenario: "e2e", n: n, change: "bulk completion k=\(k)", full: full, incremental: visible)
            )
        }
    }

    /// Times `reps` single-todo edits (after `plan.warmup` more) of open todos with a deadline,
    /// so that each edit shows in the events feed; `tag` keeps the new titles unique per series.
    func timeEdits(_ calendar: LoadedCalendar, reps: Int, tag: String, gzip: Bool = false) async throws
        -> (ack: [Double], visible: [Double])
    {
        let n = calendar.n
        var edit: (ack: [Double], visible: [Double]) = ([], [])
        let withDeadline = Set(calendar.corpus.todos.filter { $0.deadline != nil }.map(\.todoID))
        for rep in 0..<(reps + plan.warmup) {
            let id = calendar.open.first { withDeadline.contains($0) && $0 > rep * max(1, n / (reps + 2)) } ?? 1
            let title = "Edited \(UUID().uuidString.prefix(8)) \(tag)r\(rep)"
            let timing = try await timeWrite(calendar, expecting: Array("SUMMARY:\(title)\r\n".utf8), gzip: gzip) {
                try await http.send(
                    .PUT,
                    "/api/v1/todos/\(id)",
                    auth: calendar.apiKey,
                    json: AlmanacHTTP.TitlePatch(title: title)
                )
            }
            if rep >= plan.warmup {
                edit.ack.append(timing.ack)
                edit.visible.append(timing.visible)
            }
        }
        return edit
    }

    /// Times the bulk completion of `k` open todos of `calendar`.
    func timeCompletion(of k: Int, in calendar: LoadedCalendar, gzip: Bool = false) async throws
        -> (ack: Double, visible: Double)
    {
        let ids = try await calendar.takeOpen(k)
        return try await timeWrite(calendar, expecting: nil, gzip: gzip) {
            try await http.send(
                .POST,
                "/api/v1/todos/complete",
                auth: calendar.apiKey,
                json: AlmanacHTTP.Completion(ids: ids)
            )
        }
    }

    /// Sends a write, then polls the feed with If-None-Match until it changes. Checks that the
    /// served version includes the write and, when given, that the body holds `expecting` (only
    /// for identity bodies: a gzip client's body stays compressed, its ETag shows the version).
    /// (The Kafka scenario times its writes with it too.)
    func timeWrite(
        _ calendar: LoadedCalendar,
        expecting: [UInt8]?,
        gzip: Bool = false,
        _ write: () async throws -> AlmanacHTTP.Reply
    ) async throws -> (ack: Double, visible: Double) {
        if plan.pauseMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(plan.pauseMilliseconds))
        }
        let clock = ContinuousClock()
        let before = gzip ? Self.gzipTag(calendar.etag, suffix: calendar.server.gzipTagSuffix) : calendar.etag
        let start = clock.now
        try http.expectSuccess(try await write(), "write")
        let ack = (clock.now - start).milliseconds
        let deadline = start + .seconds(300)
        while clock.now < deadline {
            let reply = try await http.feed(calendar.feedURL, ifNoneMatch: before, gzip: gzip)
            if reply.status == .notModified {
                try await Task.sleep(for: .milliseconds(plan.pollIntervalMilliseconds))
                continue
            }
            try http.expectSuccess(reply, "GET feed")
            let visible = (clock.now - start).milliseconds
            try await checkNewFeed(reply, of: calendar, gzip: gzip, expecting: expecting)
            return (ack, visible)
        }
        throw BenchError("the feed of N = \(calendar.n) did not change within 300 s")
    }

    /// Checks a changed feed (its version includes the stream's newest event; gzip-encoded when
    /// asked for; `expecting` in an identity body) and remembers its identity ETag.
    private func checkNewFeed(
        _ reply: AlmanacHTTP.Reply,
        of calendar: LoadedCalendar,
        gzip: Bool,
        expecting: [UInt8]?
    ) async throws {
        let etag = reply.headers.first(name: "ETag") ?? ""
        if gzip {
            guard reply.headers.first(name: "Content-Encoding") == "gzip" else {
                throw BenchError("a gzip client got \(etag) without gzip encoding")
            }
            guard etag.hasSuffix(calendar.server.gzipTagSuffix + "\"") else {
                throw BenchError(
                    "a gzip answer's tag \(etag) does not end in the API's \(calendar.server.gzipTagSuffix)"
                )
            }
        }
        calendar.etag = Self.identityTag(etag)
        let stream = try await calendar.server.services.store.version(of: calendar.userID)
        guard Self.version(etag) >= stream else {
            throw BenchError("the feed changed to \(etag) before reaching stream version \(stream)")
        }
        if !gzip, let expecting, !Self.contains(reply.body, expecting) {
            throw BenchError("the new feed lacks \(String(decoding: expecting, as: UTF8.self))")
        }
    }

    /// The largest bulk completion also measured with a gzip client and stage by stage.
    static let gzipLargestK = 1_000

    /// Where the time of a bulk completion of `k` goes, for a client that accepts gzip: the write
    /// to its 2xx; then to the projection's commit (the calendar's version in PostgreSQL, polled
    /// every millisecond on a connection of its own); then to the new gzip feed served (GETs sent
    /// only after the commit; the API's cache learns of it from its LISTEN).
    private func timeStages(of k: Int, in calendar: LoadedCalendar, reps: Int, into results: inout RunResults)
        async throws
    {
        let n = calendar.n
        Progress.log("e2e: N = \(n): bulk completion k = \(k), stage by stage, gzip client x \(reps)")
        let store = calendar.server.services.store
        let calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
        let clock = ContinuousClock()
        // Every todo open first, as for the gzip series it decomposes.
        try await calendar.reopenAll()
        var stages: (ack: [Double], projected: [Double], served: [Double]) = ([], [], [])
        var octets = 0
        for rep in 0..<(reps + plan.warmup) {
            let ids = try await calendar.takeOpen(k)
            let target = try await store.version(of: calendar.userID) + 1  // one command, one event
            let before = Self.gzipTag(calendar.etag, suffix: calendar.server.gzipTagSuffix)
            if plan.pauseMilliseconds > 0 {
                try await Task.sleep(for: .milliseconds(plan.pauseMilliseconds))
            }
            let (served, ack, projected, reply) = try await store.client.withConnection { connection in
                let start = clock.now
                try http.expectSuccess(
                    try await http.send(
                        .POST,
                        "/api/v1/todos/complete",
                        auth: calendar.apiKey,
                        json: AlmanacHTTP.Completion(ids: ids)
                    ),
                    "write"
                )
                let ack = (clock.now - start).milliseconds
                let deadline = start + .seconds(300)
                while (try await calendars.head(user: calendar.userID, on: connection)?.version ?? -1) < target {
                    guard clock.now < deadline else { throw BenchError("the projection did not reach \(target)") }
                    try await Task.sleep(for: .milliseconds(plan.pollIntervalMilliseconds))
                }
                let projected = (clock.now - start).milliseconds
                while true {
                    let reply = try await http.feed(calendar.feedURL, ifNoneMatch: before, gzip: true)
                    if reply.status != .notModified {
                        return ((clock.now - start).milliseconds, ack, projected, reply)
                    }
                    guard clock.now < deadline else { throw BenchError("the feed did not change within 300 s") }
                    try await Task.sleep(for: .milliseconds(plan.pollIntervalMilliseconds))
                }
            }
            try http.expectSuccess(reply, "GET feed")
            try await checkNewFeed(reply, of: calendar, gzip: true, expecting: nil)
            octets = reply.body.readableBytes
            if rep >= plan.warmup {
                stages.ack.append(ack)
                stages.projected.append(projected)
                stages.served.append(served)
            }
        }
        let details = ["gzip_octets": "\(octets)"]
        record(&results, "stages (gzip): write acknowledged", n: n, k: k, samples: stages.ack, details: details)
        record(&results, "stages (gzip): projection committed", n: n, k: k, samples: stages.projected)
        record(&results, "stages (gzip): new feed served", n: n, k: k, samples: stages.served)
    }

    /// The ETag of the gzip representation of the state an identity ETag names (`"v12.g1.events"`
    /// -> `"v12.g1.events-gz"`, or `-gz1` at gzip level 1: `suffix`), and back.
    static func gzipTag(_ etag: String, suffix: String) -> String {
        guard etag.hasSuffix("\""), identityTag(etag) == etag else { return etag }
        return String(etag.dropLast()) + suffix + "\""
    }

    static func identityTag(_ etag: String) -> String {
        guard etag.hasSuffix("\""), let range = etag.range(of: "-gz", options: .backwards) else { return etag }
        let level = etag[range.upperBound...].dropLast()
        guard level.allSatisfy({ $0.isASCII && $0.isWholeNumber }), level.count <= 1 else { return etag }
        return String(etag[..<range.lowerBound]) + "\""
    }

    /// Whether `needle` occurs in `body` (a feed of N = 100,000 is tens of megabytes: memchr + memcmp).
    static func contains(_ body: ByteBuffer, _ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        return body.withUnsafeReadableBytes { haystack in
            needle.withUnsafeBytes { needle in
                guard let base = haystack.baseAddress, haystack.count >= needle.count else { return false }
                var offset = 0
                while offset <= haystack.count - needle.count {
                    guard let hit = memchr(base + offset, Int32(first), haystack.count - needle.count - offset + 1)
                    else {
                        return false
                    }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, needle.baseAddress!, needle.count) == 0 { return true }
                    offset = position + 1
                }
                return false
            }
        }
    }

    /// The stream version in an ETag `"v<version>.g<generation>.<variant>"`.
    static func version(_ etag: String) -> Int64 {
        Int64(etag.drop { $0 != "v" }.dropFirst().prefix { $0.isNumber }) ?? -1
    }

    private func timed<T>(_ body: () async throws -> T) async rethrows -> (ms: Double, value: T) {
        let clock = ContinuousClock()
        let start = clock.now
        let value = try await body()
        return ((clock.now - start).milliseconds, value)
    }

    /// Submits a `full` job and polls its status until it ends.
    private func fullJob(_ calendar: LoadedCalendar) async throws -> (ms: Double, status: AlmanacHTTP.TaskStatus) {
        let clock = ContinuousClock()
        let start = clock.now
        let task = try http.expectSuccess(
            try await http.send(.POST, "/api/v1/todos/ical?mode=full", auth: calendar.apiKey),
            "POST /api/v1/todos/ical?mode=full"
        ).decode(AlmanacHTTP.Task.self)
        while true {
            let status = try http.expectSuccess(
                try await http.send(.GET, task.task_url, auth: calendar.apiKey),
                "GET task status"
            ).decode(AlmanacHTTP.TaskStatus.self)
            switch status.task_status {
            case "SUCCESS": return ((clock.now - start).milliseconds, status)
            case "FAILURE": throw BenchError("full job failed: \(status.error ?? "?")")
            default: try await Task.sleep(for: .milliseconds(max(1, plan.pollIntervalMilliseconds)))
            }
        }
    }

    private func record(
        _ results: inout RunResults,
        _ series: String,
        n: Int,
        k: Int? = nil,
        samples: [Double],
        details: [String: String] = [:]
    ) {
        let m = Measurement(scenario: "e2e", series: series, n: n, k: k, samples: samples, details: details)
        Progress.log(
            "e2e: N = \(n) \(series)\(k.map { " k = \($0)" } ?? ""): median \(format(m.summary.median)) ms, p95 \(format(m.summary.p95)) ms"
        )
        results.measurements.append(m)
    }
}
