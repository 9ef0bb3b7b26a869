import API
import AlmanacTestSupport
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Projector
import Runtime
import Testing

extension TestApp {
    /// Runs the projector until it has applied everything committed.
    func project() async throws {
        try await StoreTailingProjector(writer: ProjectionWriter(store: services.store)).drainCommitted()
        try await sync()
    }

    /// The path of the caller's secret feed.
    func feedPath(_ auth: String) async throws -> String {
        let response = try await send(.get, "/api/v1/feed", auth: auth)
        let https = try #require(try response.object()["https"] as? String)
        return String(https[https.range(of: "/feeds/")!.lowerBound...])
    }
}

@Suite("Subscription feeds")
struct FeedAPITests {
    @Test func feedServesTheProjectionWithStrongETags() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            for (title, deadline) in [("Dentist, 3pm; card", "2026-12-01T15:00:00"), ("Trip 🚆 東京", "2026-12-24")] {
                _ = try await app.send(
                    .post,
                    "/api/v1/todos",
                    auth: alice.authorization,
                    json: #"{"title": "\#(title)", "deadline_at": "\#(deadline)"}"#
                )
            }
            _ = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "no deadline"}"#
            )
            try await app.project()
            let path = try await app.feedPath(alice.authorization)
            let response = try await app.send(.get, path)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/calendar; charset=utf-8")
            let etag = try #require(response.headers[.eTag])
            #expect(etag.hasPrefix("\"") && !etag.hasPrefix("W/"))
            #expect(response.headers[.lastModified] != nil)
            #expect(response.headers[.cacheControl] != nil)
            #expect(response.text.contains("SUMMARY:Dentist\\, 3pm\\; card\r\n"))
            #expect(response.text.contains("DTSTART:20261201T150000Z"))
            #expect(response.text.contains("DTSTART;VALUE=DATE:20261224"))
            #expect(!response.text.contains("no deadline"))
            let parsed = try ICalOracle.summaries(of: Array(response.body.readableBytesView))
            #expect(parsed.icalendar == ["Dentist, 3pm; card", "Trip 🚆 東京"])
            #expect(parsed.vobject == parsed.icalendar)

            // The VTODO variant has every todo.
            let tasks = try await app.send(.get, path + "?format=vtodo")
            #expect(try ICalOracle.summaries(of: Array(tasks.body.readableBytesView)).vobject.count == 3)
            #expect(tasks.headers[.eTag] != etag)
        }
    }

    /// With and without the change listener (memory of tokens and calendar rows): writes and
    /// rotations must show at once either way.
    @Test(arguments: [false, true])
    func conditionalRequestsHeadAndStatusCodes(listening: Bool) async throws {
        try await TestApp.run(listening: listening) { app in
            let alice = try await app.user("alice")
            _ = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "a", "deadline_at": "2026-01-01"}"#
            )
            try await app.project()
            let path = try await app.feedPath(alice.authorization)
            let first = try await app.send(.get, path)
            let etag = try #require(first.headers[.eTag])
            let lastModified = try #require(first.headers[.lastModified])

            for header in [etag, "W/\(etag)", "\"other\", \(etag)", "*"] {
                let cached = try await app.send(.get, path, headers: [.ifNoneMatch: header])
                #expect(cached.status == .notModified, "\(header)")
                #expect(cached.headers[.eTag] == etag)
                #expect(cached.body.readableBytes == 0)
            }
            #expect(try await app.send(.get, path, headers: [.ifNoneMatch: "\"stale\""]).status == .ok)
            #expect(try await app.send(.get, path, headers: [.ifModifiedSince: lastModified]).status == .notModified)
            #expect(
                try await app.send(.get, path, headers: [.ifModifiedSince: "Mon, 01 Jan 2001 00:00:00 GMT"]).status
                    == .ok
            )

            let head = try await app.send(.head, path)
            #expect(head.status == .ok)
            #expect(head.headers[.eTag] == etag)
            #expect(head.body.readableBytes == 0)

            // A write changes the ETag once projected; the old one no longer matches.
            _ = try await app.send(.put, "/api/v1/todos/1", auth: alice.authorization, json: #"{"completed": true}"#)
            try await app.project()
            let changed = try await app.send(.get, path, headers: [.ifNoneMatch: etag])
            #expect(changed.status == .ok)
            #expect(changed.headers[.eTag] != etag)
            #expect(!changed.text.contains("BEGIN:VEVENT"))
            let withDone = try await app.send(.get, path + "?completed=include")
            #expect(withDone.text.contains("SUMMARY:✓ a"))

            // Rotation: old URL 410, new URL 200; unknown 404; bad query 400.
            let rotated = try await app.send(.post, "/api/v1/feed/rotate", auth: alice.authorization)
            #expect(rotated.status == .ok)
            try await app.sync()
            let gone = try await app.send(.get, path)
            #expect(gone.status == .gone)
            #expect(gone.errorMessage != nil)
            let newPath = try await app.feedPath(alice.authorization)
            #expect(newPath != path)
            #expect(try await app.send(.get, newPath).status == .ok)
            #expect(try await app.send(.get, "/feeds/cal_doesnotexist.ics").status == .notFound)
            #expect(try await app.send(.get, newPath + "?format=xml").status == .badRequest)
            #expect(try await app.send(.get, newPath + "?completed=maybe").status == .badRequest)
        }
    }

    /// A calendar larger than the cache's byte budget is streamed from PostgreSQL, same bytes.
    @Test func calendarsOverTheCacheBudgetAreStreamed() async throws {
        try await TestApp.run(feedCacheBytes: 2_000) { app in
            let alice = try await app.user("alice")
            for i in 1...40 {
                _ = try await app.send(
                    .post,
                    "/api/v1/todos",
                    auth: alice.authorization,
                    json: #"{"title": "todo \#(i), with text", "deadline_at": "2026-02-\#(i % 28 + 1)T09:00:00"}"#
                )
            }
            _ = try await app.send(
                .post,
                "/api/v1/todos/complete",
                auth: alice.authorization,
                json: #"{"ids": [3, 4]}"#
            )
            try await app.project()
            let path = try await app.feedPath(alice.authorization)
            for (query, variant) in [("", FeedVariant.events), ("?format=vtodo", .tasks)] {
                let response = try await app.send(.get, path + query)
                #expect(response.status == .ok)
                let expected = try #require(
                    try await CalendarRebuilder(store: app.services.store).compare(user: alice.id, variant: variant)
                )
                #expect(response.text == String(decoding: expected.full, as: UTF8.self))
                let etag = try #require(response.headers[.eTag])
                #expect(try await app.send(.get, path + query, headers: [.ifNoneMatch: etag]).status == .notModified)
                #expect(try await app.send(.head, path + query).status == .ok)
            }
        }
    }

    @Test func feedBeforeTheProjectionExistsIs503NotAnEmptyCalendar() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let path = try await app.feedPath(alice.authorization)
            let response = try await app.send(.get, path)
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] != nil)
            #expect(response.errorMessage != nil)
        }
    }

    @Test func timeZoneSettingReRendersTheCalendar() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            var me = try await app.send(.get, "/api/v1/me", auth: alice.authorization)
            #expect(try me.object()["time_zone"] as? String == "UTC")
            _ = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "call", "deadline_at": "2026-07-15T09:30:00"}"#
            )
            me = try await app.send(
                .patch,
                "/api/v1/me",
                auth: alice.authorization,
                json: #"{"time_zone": "Europe/Paris"}"#
            )
            #expect(me.status == .ok)
            #expect(try me.object()["time_zone"] as? String == "Europe/Paris")
            try await app.project()
            let feed = try await app.send(.get, try await app.feedPath(alice.authorization))
            #expect(feed.text.contains("DTSTART:20260715T073000Z"))
            for body in [#"{"time_zone": "Mars/Olympus"}"#, #"{"time_zone": 3}"#, #"{"tz": "UTC"}"#] {
                let bad = try await app.send(.patch, "/api/v1/me", auth: alice.authorization, json: body)
                #expect(bad.status == .badRequest, "\(body)")
            }
        }
    }
}

@Suite("Calendar jobs")
struct JobAPITests {
    @Test func projectionJobSucceedsOnceTheProjectionCatchesUp() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            _ = try await app.send(
                .post,
                "/api/v1/todos",
                auth: alice.authorization,
                json: #"{"title": "a", "deadline_at": "2026-01-01"}"#
            )
            let submitted = try await app.send(.post, "/api/v1/todos/ical", auth: alice.authorization)
            #expect(submitted.status == .accepted)
            let taskID = try #require(try submitted.object()["task_id"] as? String)
            let taskURL = try #require(try submitted.object()["task_url"] as? String)
            #expect(taskURL.hasSuffix("/api/v1/todos/ical/\(taskID)/status"))

            var status = try await app.send(.get, "/api/v1/todos/ical/\(taskID)/status", auth: alice.authorization)
            #expect(try status.object()["task_status"] as? String == "PENDING")
            #expect(try status.object()["result_url"] as? String != nil)
            let early = try await app.send(.get, "/api/v1/todos/ical/\(taskID)/result", auth: alice.authorization)
            #expect(early.status == .notFound)
            #expect(early.errorMessage == "Task not finished")

            try await app.project()
            status = try await app.send(.get, "/api/v1/todos/ical/\(taskID)/status", auth: alice.authorization)
            #expect(try status.object()["task_status"] as? String == "SUCCESS")
            let result = try await app.send(.get, "/api/v1/todos/ical/\(taskID)/result", auth: alice.authorization)
            #expect(result.status == .ok)
            #expect(result.headers[.contentType] == "text/calendar; charset=utf-8")
            #expect(result.text.contains("SUMMARY:a"))

            // Another user's job, an unknown id, a bad mode.
            let bob = try await app.user("bob")
            #expect(
                try await app.send(.get, "/api/v1/todos/ical/\(taskID)/status", auth: bob.authorization).status
                    == .notFound
            )
            #expect(
                try await app.send(.get, "/api/v1/todos/ical/nope/status", auth: alice.authorization).status
                    == .notFound
            )
            #expect(
                try await app.send(.post, "/api/v1/todos/ical?mode=slow", auth: alice.authorization).status
                    == .badRequest
            )
        }
    }

    @Test func fullJobRegeneratesComparesAndSurvivesADeadWorker() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            for i in 1...5 {
                _ = try await app.send(
                    .post,
                    "/api/v1/todos",
                    auth: alice.authorization,
                    json: #"{"title": "t\#(i), x", "deadline_at": "2026-0\#(i)-01T08:00:00"}"#
                )
            }
            let submitted = try await app.send(.post, "/api/v1/todos/ical?mode=full", auth: alice.authorization)
            let taskID = try #require(try submitted.object()["task_id"] as? String)
            let statusPath = "/api/v1/todos/ical/\(taskID)/status"

            // A worker claims the job and dies (its lease is already over).
            var dying = app.services.jobs.table
            dying.lease = .seconds(0)
            let claimed = try await dying.claim()
            #expect(claimed?.id.uuidString.lowercased() == taskID)
            var status = try await app.send(.get, statusPath, auth: alice.authorization)
            #expect(try status.object()["task_status"] as? String == "STARTED")

            // Another worker takes it over once the projection has caught up.
            try await app.project()
            let worker = JobWorker(queue: app.services.jobs)
            #expect(try await worker.runOne())
            status = try await app.send(.get, statusPath, auth: alice.authorization)
            let body = try status.object()
            #expect(body["task_status"] as? String == "SUCCESS")
            #expect(body["matches_incremental"] as? Bool == true)
            #expect(body["duration_ms"] is Double || body["duration_ms"] is Int)
            #expect(body["mode"] as? String == "full")
            let result = try await app.send(.get, "/api/v1/todos/ical/\(taskID)/result", auth: alice.authorization)
            #expect(try ICalOracle.summaries(of: Array(result.body.readableBytesView)).icalendar.count == 5)
        }
    }

    /// A running worker picks a job up on the queue's NOTIFY, not on its (here hour-long) poll.
    @Test func runningWorkerWakesOnSubmission() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            _ = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: #"{"title": "a"}"#)
            try await app.project()
            var worker = JobWorker(queue: app.services.jobs)
            worker.pollInterval = .seconds(3600)
            try await AlmanacRuntime.withRunning([worker], logger: TestDatabase.logger) {
                // The worker drains the (empty) queue at start, then waits on LISTEN.
                try await poll("the job worker listens") { worker.isListening }
                let submitted = try await app.send(.post, "/api/v1/todos/ical?mode=full", auth: alice.authorization)
                let taskID = try #require(try submitted.object()["task_id"] as? String)
                var state: String?
                try await poll("the job finishes", limit: .seconds(20), interval: .milliseconds(50)) {
                    let status = try await app.send(
                        .get,
                        "/api/v1/todos/ical/\(taskID)/status",
                        auth: alice.authorization
                    )
                    state = try status.object()["task_status"] as? String
                    return state == "SUCCESS" || state == "FAILURE"
                }
                #expect(state == "SUCCESS")
            }
        }
    }

    @Test func fullJobFailsAfterItsAttempts() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            _ = try await app.send(.post, "/api/v1/todos", auth: alice.authorization, json: #"{"title": "a"}"#)
            let submitted = try await app.send(.post, "/api/v1/todos/ical?mode=full", auth: alice.authorization)
            let taskID = try #require(try submitted.object()["task_id"] as? String)
            // No projector runs: the projection never reaches the job's version.
            var queue = app.services.jobs
            queue.table.maxAttempts = 1
            var worker = JobWorker(queue: queue)
            worker.projectionWait = .milliseconds(100)
            #expect(try await worker.runOne())
            let status = try await app.send(.get, "/api/v1/todos/ical/\(taskID)/status", auth: alice.authorization)
            #expect(try status.object()["task_status"] as? String == "FAILURE")
            #expect(try status.object()["error"] as? String != nil)
        }
    }
}
