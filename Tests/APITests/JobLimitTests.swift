import API
import AlmanacTestSupport
import EventStore
import HTTPTypes
import HummingbirdTesting
import Testing

/// Calendar jobs are bounded: per user in flight, and in time.
@Suite("Calendar job limits")
struct JobLimitTests {
    @Test func aUserCannotQueueUnlimitedJobs() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let bob = try await app.user("bob")
            let limit = app.services.jobs.maxInFlightPerUser
            for _ in 0..<limit {
                let accepted = try await app.send(.post, "/api/v1/todos/ical?mode=full", auth: alice.authorization)
                #expect(accepted.status == .accepted)
            }
            let refused = try await app.send(.post, "/api/v1/todos/ical?mode=full", auth: alice.authorization)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] != nil)
            #expect(refused.errorMessage?.contains("at most \(limit)") == true)
            // Someone else's jobs are not counted.
            #expect(try await app.send(.post, "/api/v1/todos/ical", auth: bob.authorization).status == .accepted)
        }
    }

    @Test func expiredJobsAndTheirResultsAreGone() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let submitted = try await app.send(.post, "/api/v1/todos/ical", auth: alice.authorization)
            let taskID = try #require(try submitted.object()["task_id"] as? String)
            let status = "/api/v1/todos/ical/\(taskID)/status"
            #expect(try await app.send(.get, status, auth: alice.authorization).status == .ok)
            #expect(try await app.services.jobs.table.expire(olderThan: .seconds(3600)) == 0)
            #expect(try await app.services.jobs.table.expire(olderThan: .zero) == 1)
            #expect(try await app.send(.get, status, auth: alice.authorization).status == .notFound)
            // Expired jobs no longer count against the limit either.
            #expect(try await app.services.jobs.table.inFlight(user: alice.id) == 0)
        }
    }
}
