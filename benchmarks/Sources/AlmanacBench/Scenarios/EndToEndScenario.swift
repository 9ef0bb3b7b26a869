import API
import Domain
import EventStore
import Foundation
import NIOCore
import NIOHTTP1
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

        Progress.log("e2e: N = \(n): single-todo edit x \(reps)")
        let edit = try await timeEdits(calendar, reps: reps, tag: "")
        record(&results, "edit: write acknowledged", n: n, k: 1, samples: edit.ack)
        record(&results, "edit: new feed served", n: n, k: 1, samples: edit.visible)

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
    func timeEdits(_ calendar: LoadedCalendar, reps: Int, tag: String) async throws
        -> (ack: [Double], visible: [Double])
    {
        let n = calendar.n
        var edit: (ack: [Double], visible: [Double]) = ([], [])
        let withDeadline = Set(calendar.corpus.todos.filter { $0.deadline != nil }.map(\.todoID))
        for rep in 0..<(reps + plan.warmup) {
            let id = calendar.open.first { withDeadline.contains($0) && $0 > rep * max(1, n / (reps + 2)) } ?? 1
            let title = "Edited \(UUID().uuidString.prefix(8)) \(tag)r\(rep)"
            let timing = try await timeWrite(calendar, expecting: Array("SUMMARY:\(title)\r\n".utf8)) {
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
    func timeCompletion(of k: Int, in calendar: LoadedCalendar) async throws -> (ack: Double, visible: Double) {
        let ids = try await calendar.takeOpen(k)
        return try await timeWrite(calendar, expecting: nil) {
            try await http.send(
                .POST,
                "/api/v1/todos/complete",
                auth: calendar.apiKey,
                json: AlmanacHTTP.Completion(ids: ids)
            )
        }
    }

    /// Sends a write, then polls the feed with If-None-Match until it changes. Checks that the
    /// served version includes the write and, when given, that the body holds `expecting`.
    /// (The Kafka scenario times its writes with it too.)
    func timeWrite(
        _ calendar: LoadedCalendar,
        expecting: [UInt8]?,
        _ write: () async throws -> AlmanacHTTP.Reply
    ) async throws -> (ack: Double, visible: Double) {
        if plan.pauseMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(plan.pauseMilliseconds))
        }
        let clock = ContinuousClock()
        let before = calendar.etag
        let start = clock.now
        try http.expectSuccess(try await write(), "write")
        let ack = (clock.now - start).milliseconds
        let deadline = start + .seconds(300)
        while clock.now < deadline {
            let reply = try await http.feed(calendar.feedURL, ifNoneMatch: before)
            if reply.status == .notModified {
                try await Task.sleep(for: .milliseconds(plan.pollIntervalMilliseconds))
                continue
            }
            try http.expectSuccess(reply, "GET feed")
            let visible = (clock.now - start).milliseconds
            let etag = reply.headers.first(name: "ETag") ?? ""
            calendar.etag = etag
            let stream = try await calendar.server.services.store.version(of: calendar.userID)
            guard Self.version(etag) >= stream else {
                throw BenchError("the feed changed to \(etag) before reaching stream version \(stream)")
            }
            if let expecting, !Self.contains(reply.body, expecting) {
                throw BenchError("the new feed lacks \(String(decoding: expecting, as: UTF8.self))")
            }
            return (ack, visible)
        }
        throw BenchError("the feed of N = \(calendar.n) did not change within 300 s")
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
