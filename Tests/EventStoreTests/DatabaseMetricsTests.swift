import AlmanacTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import EventStore

/// The SQL behind the sampled gauges: checkpoint lags, the held-back horizon, the job queue.
@Suite("Database metrics queries")
struct DatabaseMetricsTests {
    static func events(_ count: Int) -> [NewEvent] {
        (0..<count).map { NewEvent(type: "Test", data: Array(#"{"n": \#($0)}"#.utf8)) }
    }

    static func lags(_ store: EventStore, cap: Int64 = 1_000_000) async throws -> [String: Checkpoints.Lag] {
        let lags = try await Checkpoints.lags(client: store.client, cap: cap, logger: store.logger)
        return Dictionary(uniqueKeysWithValues: lags.map { ($0.name, $0) })
    }

    @Test func checkpointLagCountsTheEventsAfterItAndTheirAge() async throws {
        try await TestDatabase.withStore { store in
            let logger = store.logger
            #expect(try await Self.lags(store).isEmpty, "no checkpoint, no lag reported")
            try await store.client.withConnection {
                try await Checkpoints.save("p", .start, on: $0, prepared: true, logger: logger)
            }
            try await store.append(stream: 1, expectedVersion: 0, events: Self.events(2))
            let last = try await store.append(stream: 2, expectedVersion: 0, events: Self.events(1))
            // Wait for the horizon (other tests' transactions) only through the lag itself.
            try await poll("the three events count as lag") { try await Self.lags(store)["p"]?.events == 3 }
            let behind = try #require(try await Self.lags(store)["p"])
            #expect(behind.seconds >= 0)
            try await poll("the age of the first unread event grows") {
                try await Self.lags(store)["p"]!.seconds > 0
            }
            #expect(try await Self.lags(store, cap: 2)["p"]?.events == 2, "counted up to the cap")

            try await store.client.withConnection {
                try await Checkpoints.save("p", last[0].cursor, on: $0, prepared: true, logger: logger)
            }
            #expect(try await Self.lags(store)["p"] == Checkpoints.Lag(name: "p", events: 0, seconds: 0))
        }
    }

    /// On a cluster of its own: the horizon is cluster-wide, and on the shared cluster a writer
    /// that a test beside this one held open in its own database (taken before this test's
    /// commit) kept this reader held back past the COMMIT below (a full run timed out waiting for
    /// "no longer held back"; the test after this one reproduces that).
    @Test(.timeLimit(.minutes(2)))
    func heldBackHorizonIsTheAgeOfTheOpenWriterWhileCommittedEventsWait() async throws {
        try await TestDatabase.withPrivateStore { store, _ in
            let logger = store.logger
            try await store.client.withConnection { slow in
                try await slow.query("BEGIN", logger: logger)
                _ = try await store.append(stream: 1, expectedVersion: 0, events: Self.events(1), on: slow)
                // Nothing committed waits behind the open transaction yet.
                #expect(try await store.horizonHeldBackSeconds() == 0)
                // A later transaction commits: its event waits above the horizon.
                try await store.append(stream: 2, expectedVersion: 0, events: Self.events(1))
                try await poll("the reader is reported held back") { try await store.horizonHeldBackSeconds() > 0 }
                try await slow.query("COMMIT", logger: logger)
            }
            try await poll("the reader is no longer held back") { try await store.horizonHeldBackSeconds() == 0 }
        }
    }

    /// A writer open in another database of the same cluster, older than this database's last
    /// commit, holds this database's reader back too (`pg_snapshot_xmin` is cluster-wide), and
    /// the gauge reports it until that writer ends.
    @Test(.timeLimit(.minutes(2)))
    func aWriterInAnotherDatabaseOfTheClusterHoldsTheReaderBack() async throws {
        try await TestDatabase.withPrivateStore { store, postgres in
            let logger = store.logger
            var other = try #require(URLComponents(string: postgres.url))
            other.path = "/postgres"
            try await TestDatabase.withClient(url: try #require(other.string), poolSize: 1) { client in
                try await client.withConnection { writer in
                    try await writer.query("BEGIN", logger: logger)
                    for try await _ in try await writer.query("SELECT pg_current_xact_id()", logger: logger) {}
                    #expect(try await store.horizonHeldBackSeconds() == 0, "nothing committed waits yet")
                    try await store.append(stream: 1, expectedVersion: 0, events: Self.events(1))
                    try await poll("the reader is reported held back by the other database's writer") {
                        try await store.horizonHeldBackSeconds() > 0
                    }
                    #expect(try await store.readAll(after: .start, limit: 10).isEmpty, "the event waits behind it")
                    try await writer.query("COMMIT", logger: logger)
                }
            }
            try await poll("the reader is no longer held back") { try await store.horizonHeldBackSeconds() == 0 }
            #expect(try await store.readAll(after: .start, limit: 10).count == 1)
        }
    }

    @Test func jobDepthCountsUnfinishedJobsByKindAndStatus() async throws {
        try await TestDatabase.withStore { store in
            let table = JobTable(client: store.client, logger: store.logger)
            #expect(try await table.depth().isEmpty)
            let projection = try await table.insert(user: 1, kind: .projection, targetVersion: 1)
            _ = try await table.insert(user: 1, kind: .projection, targetVersion: 2)
            _ = try await table.insert(user: 2, kind: .full, targetVersion: 1)
            _ = try await table.insert(user: 3, kind: .full, targetVersion: 1)
            let claimed = try #require(try await table.claim())
            #expect(
                try await table.depth() == [
                    .init(kind: .projection, status: "PENDING"): 2,
                    .init(kind: .full, status: "PENDING"): 1,
                    .init(kind: .full, status: "STARTED"): 1,
                ]
            )
            try await table.succeed(claimed.id, result: [], durationMilliseconds: 1, matches: true)
            // Settling a projection job gives its time since submission (the job duration), once.
            let seconds = try #require(try await table.settle(projection.id))
            #expect(seconds >= 0 && seconds < 60)
            #expect(try await table.settle(projection.id) == nil)
            #expect(
                try await table.depth() == [
                    .init(kind: .projection, status: "PENDING"): 1,
                    .init(kind: .full, status: "PENDING"): 1,
                ]
            )
        }
    }
}
