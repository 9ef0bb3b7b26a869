import API
import AlmanacTestSupport
import Domain
import EventStore
import PostgresNIO
import Projector
import Runtime
import Testing

/// A routine database restart (or failover) under load must never freeze feeds: every
/// long-running loop resumes by itself and the projection converges to a full regeneration.
@Suite("PostgreSQL restart under load", .serialized)
struct DatabaseRestartTests {
    @Test(.timeLimit(.minutes(3)))
    func projectionConvergesAfterARestartUnderLoad() async throws {
        try await PrivatePostgres.with { postgres in
            try await AlmanacRuntime.withDatabase(.url(postgres.url), poolSize: 20, logger: TestDatabase.logger) {
                runtime in
                var created: [Int64] = []
                for index in 0..<8 {
                    created.append(try await runtime.services.users.create(name: "u\(index)").user.id)
                }
                let users = created
                let plan = AlmanacRuntime.Plan(
                    api: .init(configuration: APIConfiguration(), host: "127.0.0.1", port: 0),
                    projector: .store,
                    jobs: true
                )
                let services = try await runtime.services(for: plan)
                let load = Load()
                try await AlmanacRuntime.withRunning(services, logger: TestDatabase.logger) {
                    let writing = Task { await load.run(todos: runtime.services.todos, users: users, writers: 8) }
                    defer { load.stop() }
                    try await poll("some writes are acknowledged") { load.acknowledgedCount >= 200 }
                    try await postgres.restart()
                    let before = load.acknowledgedCount
                    try await poll("writes are acknowledged again after the restart", limit: .seconds(30)) {
                        load.acknowledgedCount >= before + 200
                    }
                    load.stop()
                    await writing.value
                    // Every calendar reaches its stream's version by itself, within seconds.
                    try await poll("every calendar converges", limit: .seconds(20), interval: .milliseconds(50)) {
                        for user in users {
                            let stream = try await runtime.store.version(of: user)
                            let head = try await runtime.store.client.withConnection {
                                try await CalendarStore(logger: TestDatabase.logger, preparedStatements: true).head(
                                    user: user,
                                    on: $0
                                )
                            }
                            if (head?.version ?? 0) < stream { return false }
                        }
                        return true
                    }
                }
                // Nothing acknowledged is lost, and each feed equals a full regeneration.
                for (user, ids) in load.acknowledged {
                    for id in ids {
                        #expect(
                            try await runtime.services.todos.get(user: user, id: id) != nil,
                            "todo \(id) of \(user)"
                        )
                    }
                    for variant in FeedVariant.allCases {
                        let comparison = try #require(
                            try await CalendarRebuilder(store: runtime.store).compare(user: user, variant: variant)
                        )
                        #expect(comparison.matches, "user \(user) \(variant)")
                    }
                }
                #expect(load.acknowledgedCount > 400)
            }
        }
    }
}
