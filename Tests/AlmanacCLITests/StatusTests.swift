import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import PostgresNIO
import Projector
import Runtime
import Testing

/// `almanac status`, run as a child process against a private cluster (so that the oldest open
/// transaction it reports can only be the test's).
@Suite("almanac status", .timeLimit(.minutes(3)))
struct StatusTests {
    @Test("--json reports what the test put in the database")
    func jsonMatchesTheDatabase() async throws {
        try await PrivatePostgres.with { postgres in
            try await AlmanacRuntime.withDatabase(.url(postgres.url), poolSize: 4, logger: TestDatabase.logger) {
                runtime in
                let store = runtime.store
                let alice = try await runtime.services.users.create(name: "alice")
                let bob = try await runtime.services.users.create(name: "bob")
                for number in 1...3 {
                    _ = try await runtime.services.todos.create(user: alice.user.id, try NewTodo(title: "a\(number)"))
                }
                _ = try await runtime.services.todos.create(user: bob.user.id, try NewTodo(title: "b"))
                let aliceEvents = try await store.readStream(alice.user.id)
                let events = aliceEvents.count + (try await store.readStream(bob.user.id)).count
                #expect(events >= 6)
                // alice's calendar is projected, with a checkpoint two events into the log;
                // the relay's checkpoint sits at the start.
                try await ProjectionWriter(store: store).apply(aliceEvents)
                let firstTwo = try await store.readAll(after: .start, limit: 2)
                let projector = try #require(firstTwo.last).cursor
                try await store.withTransaction { connection in
                    try await Checkpoints.save(
                        "calendar-projector",
                        projector,
                        on: connection,
                        prepared: true,
                        logger: store.logger
                    )
                    try await Checkpoints.save(
                        "bus-relay",
                        .start,
                        on: connection,
                        prepared: true,
                        logger: store.logger
                    )
                }
                _ = try await runtime.services.jobs.submit(user: alice.user.id, kind: .full)

                // An open transaction holding a transaction id, as a stuck writer would.
                try await store.client.withConnection { connection in
                    try await connection.run("BEGIN", logger: store.logger)
                    var pid: Int32 = 0
                    for try await (backend, _) in try await connection.run(
                        "SELECT pg_backend_pid(), pg_current_xact_id()::text",
                        logger: store.logger
                    ).decode((Int32, String).self) {
                        pid = backend
                    }

                    let outcome = try await AlmanacProcess.run(
                        ["status", "--json", "--database-url", postgres.url],
                        environment: ["LOG_LEVEL": "error"]
                    )
                    #expect(outcome.status == 0, "\(outcome.stderr)")
                    let report = try #require(
                        try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any],
                        "\(outcome.stdout)"
                    )
                    #expect(report["users"] as? Int == 2)
                    #expect(report["events"] as? Int == events)
                    #expect(report["calendars"] as? Int == 1)
                    let jobs = try #require(report["jobs"] as? [String: Int])
                    #expect(jobs == ["PENDING": 1, "STARTED": 0, "SUCCESS": 0, "FAILURE": 0])
                    let migrations = try #require(report["migrations"] as? [String: Any])
                    #expect(migrations["pending"] as? [String] == [])
                    #expect(migrations["applied"] as? Int == (try Migrator.bundled()).migrations.count)
                    let checkpoints = try #require(report["checkpoints"] as? [[String: Any]])
                    #expect(checkpoints.map { $0["name"] as? String } == ["bus-relay", "calendar-projector"])
                    let relay = try #require(checkpoints.first)
                    #expect(relay["lag_events"] as? Int == events)
                    #expect((relay["lag_seconds"] as? Double ?? -1) >= 0)
                    let calendar = try #require(checkpoints.last)
                    #expect(calendar["lag_events"] as? Int == events - 2)
                    #expect(calendar["txid"] as? String == String(projector.txid))
                    #expect(calendar["position"] as? Int == Int(projector.position))
                    let oldest = try #require(report["oldest_open_transaction"] as? [String: Any])
                    #expect(oldest["pid"] as? Int == Int(pid))
                    #expect((oldest["xid_age"] as? Int ?? 0) >= 1)

                    let text = try await AlmanacProcess.run(
                        ["status", "--database-url", postgres.url],
                        environment: ["LOG_LEVEL": "error"]
                    )
                    #expect(text.status == 0, "\(text.stderr)")
                    #expect(text.stdout.contains("Users:       2\n"), "\(text.stdout)")
                    #expect(text.stdout.contains("bus-relay: lag \(events) events"), "\(text.stdout)")
                    #expect(text.stdout.contains("Oldest open transaction: pid \(pid)"), "\(text.stdout)")
                    try await connection.run("ROLLBACK", logger: store.logger)
                }
            }
        }
    }

    @Test("an unmigrated database is an error, not a crash")
    func unmigratedDatabaseFails() async throws {
        let url = try await TestDatabase.create(migrated: false)
        let outcome = try await AlmanacProcess.run(
            ["status", "--json", "--database-url", url],
            environment: ["LOG_LEVEL": "error"]
        )
        #expect(outcome.status != 0)
        #expect(outcome.stderr.contains("almanac migrate"), "\(outcome.stderr)")
    }
}
