import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Projector
import Runtime
import Testing

/// `GET /api/v1/ready`: 200 only while the database answers, has every bundled migration and the
/// watched checkpoint is within its lag bounds; 503 `{"error": …}` with Retry-After otherwise,
/// answered within a bound while the database is down. `/api/v1/health` stays 200 throughout.
@Suite("Readiness", .serialized)
struct ReadinessTests {
    /// Runs the API alone (no projector) on `runtime`, on a live server (a port of its own, an
    /// asynchronous client), and calls `body` with a client of it.
    static func withAPI(
        _ runtime: AlmanacRuntime,
        readiness: ReadinessConfiguration,
        requestTimeout: Duration = .seconds(5),
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let built = try await runtime.api(APIConfiguration(requestTimeout: requestTimeout, readiness: readiness))
        let app = Application(
            router: built.responder,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            services: built.services,
            logger: TestDatabase.logger
        )
        try await app.test(.live) { client in try await body(client) }
    }

    static func ready(_ client: any TestClientProtocol) async throws -> (
        status: Int, retryAfter: String?, error: String?
    ) {
        let answer = try await client.execute(uri: "/api/v1/ready", method: .get)
        let object = try? JSONSerialization.jsonObject(with: Data(String(buffer: answer.body).utf8)) as? [String: Any]
        if answer.status == .ok { #expect(object?["status"] as? String == "ready", "\(String(buffer: answer.body))") }
        return (answer.status.code, answer.headers[.retryAfter], object?["error"] as? String)
    }

    @Test(.timeLimit(.minutes(2)))
    func readyFollowsTheDatabaseThroughAnOutage() async throws {
        try await PrivatePostgres.with { postgres in
            try await AlmanacRuntime.withDatabase(.url(postgres.url), poolSize: 4, logger: TestDatabase.logger) {
                runtime in
                // A request deadline far beyond the bound below: only readiness's own 2 s timeout
                // can answer, however loaded the machine.
                let readiness = ReadinessConfiguration(timeout: .seconds(2))
                try await Self.withAPI(runtime, readiness: readiness, requestTimeout: .seconds(60)) { client in
                    #expect(try await Self.ready(client).status == 200)
                    try await postgres.stop()
                    let clock = ContinuousClock()
                    let start = clock.now
                    let down = try await Self.ready(client)
                    #expect(down.status == 503)
                    #expect(down.retryAfter != nil)
                    // Readiness's own answer at its 2 s timeout (the pool waits for a connection
                    // while the database is down), not the request deadline's 503.
                    let reasons = ["the database did not answer within 2 s", "the database is unreachable"]
                    #expect(reasons.contains(down.error ?? ""), "\(down.error ?? "no error")")
                    // Bounded, not waiting for the database (it stays down until the answer). The
                    // bound leaves room for the loaded parallel suite: 2.0 s alone, 2.8-3.6 s in a
                    // local full run, 6.05 s once in CI (the check itself ended at 2.2 s there too:
                    // the rest is the test process's 2 cores shared by 80 suites).
                    #expect(clock.now - start < .seconds(12), "answered after \(clock.now - start)")
                    // Liveness is not readiness.
                    #expect(try await client.execute(uri: "/api/v1/health", method: .get).status == .ok)
                    try await postgres.start()
                    try await poll("ready again once the database is back", limit: .seconds(30)) {
                        (try? await Self.ready(client).status) == 200
                    }
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func notReadyWhileTheProjectionLagsBeyondTheBound() async throws {
        try await TestDatabase.withRuntime { runtime in
            let readiness = ReadinessConfiguration(
                checkpoint: StoreTailingProjector.defaultCheckpointName,
                maxLagEvents: 3,
                maxLagSeconds: 0
            )
            try await Self.withAPI(runtime, readiness: readiness) { client in
                let alice = try await runtime.services.users.create(name: "alice")  // 1 event
                #expect(try await Self.ready(client).status == 200)
                for number in 1...5 {  // events after a checkpoint nobody advances (no projector)
                    _ = try await runtime.services.todos.create(
                        user: alice.user.id,
                        try NewTodo(title: "todo \(number)")
                    )
                }
                let behind = try await Self.ready(client)
                #expect(behind.status == 503)
                #expect(behind.error?.contains("more than 3 events") == true, "\(behind.error ?? "no error")")
                // A projector catches up: ready again.
                let projector = AlmanacRuntime.Background(
                    try runtime.projector(.store),
                    logger: TestDatabase.logger
                )
                try await poll("ready once the projector caught up") { (try? await Self.ready(client).status) == 200 }
                try await projector.stop()
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func notReadyWhileTheOldestUnprojectedEventIsTooOld() async throws {
        try await TestDatabase.withRuntime { runtime in
            let readiness = ReadinessConfiguration(
                checkpoint: StoreTailingProjector.defaultCheckpointName,
                maxLagEvents: 0,
                maxLagSeconds: 1
            )
            try await Self.withAPI(runtime, readiness: readiness) { client in
                #expect(try await Self.ready(client).status == 200)
                _ = try await runtime.services.users.create(name: "alice")  // one event, never projected
                try await poll("not ready once the event is older than 1 s", limit: .seconds(20)) {
                    let answer = try await Self.ready(client)
                    guard answer.status == 503 else { return false }
                    #expect(answer.error?.contains("bound 1 s") == true, "\(answer.error ?? "no error")")
                    return true
                }
                let projector = AlmanacRuntime.Background(try runtime.projector(.store), logger: TestDatabase.logger)
                try await poll("ready once the projector caught up") { (try? await Self.ready(client).status) == 200 }
                try await projector.stop()
            }
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func notReadyWhileMigrationsAreMissing() async throws {
        let url = try await TestDatabase.create(migrated: false)
        try await AlmanacRuntime.withDatabase(.url(url), poolSize: 4, logger: TestDatabase.logger, migrate: false) {
            runtime in
            try await Self.withAPI(runtime, readiness: ReadinessConfiguration()) { client in
                let empty = try await Self.ready(client)
                #expect(empty.status == 503)
                #expect(empty.error?.contains("schema is behind") == true, "\(empty.error ?? "no error")")
                let bundled = try Migrator.bundled()
                try await Migrator(migrations: Array(bundled.migrations.dropLast()))
                    .migrate(client: runtime.store.client, logger: TestDatabase.logger)
                let partial = try await Self.ready(client)
                #expect(partial.status == 503)
                let last = try #require(bundled.migrations.last)
                #expect(partial.error?.contains(last.name) == true, "\(partial.error ?? "no error")")
                try await bundled.migrate(client: runtime.store.client, logger: TestDatabase.logger)
                #expect(try await Self.ready(client).status == 200)
            }
        }
    }
}
