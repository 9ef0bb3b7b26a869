import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import NIOPosix
import Runtime
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Clients that read a large answer very slowly (or not at all) must not take the service
/// down: no pooled database connection waits on them, and everyone else is answered promptly.
@Suite("Slow clients")
struct SlowClientTests {
    @Test(.timeLimit(.minutes(2)))
    func otherRequestsAreAnsweredWhileManyClientsReadSlowly() async throws {
        try await TestDatabase.withRuntime(poolSize: 4) { runtime in
            let slow = try await runtime.services.users.create(name: "slow")
            let quick = try await runtime.services.users.create(name: "quick")
            try await Self.createTodos(20_000, user: slow.user.id, runtime: runtime)
            let listening = ListeningPort()
            let plan = AlmanacRuntime.Plan(
                api: .init(configuration: APIConfiguration(), host: "127.0.0.1", port: 0, onListening: listening.record)
            )
            try await AlmanacRuntime.withRunning(try await runtime.services(for: plan), logger: TestDatabase.logger) {
                let port = try await listening.port()
                try await poll("the server answers") {
                    (try? await RawHTTP.get(port: port, path: "/api/v1/health")) == 200
                }
                // Three times the pool's connections ask for a 20,000-todo list (about 4 MB each) and
                // never read it: each would hold a pooled connection if rows were streamed from the
                // database while the client reads.
                var stalled: [Int32] = []
                defer { stalled.forEach { close($0) } }
                for _ in 0..<12 {
                    let fd = try await NIOThreadPool.singleton.runIfActive {
                        try RawHTTP.connect(port: port, receiveBuffer: 2048)
                    }
                    try RawHTTP.send(
                        fd,
                        "GET /api/v1/todos HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(slow.apiKey)\r\n\r\n"
                    )
                    stalled.append(fd)
                }
                // Every stalled response has started (so each handler is past its first page).
                try await poll("all slow responses start", limit: .seconds(20)) {
                    stalled.allSatisfy(RawHTTP.hasData)
                }
                let clock = ContinuousClock()
                for path in ["/api/v1/health", "/api/v1/me", "/api/v1/todos", "/api/v1/feed"] {
                    let start = clock.now
                    let status = try await RawHTTP.get(
                        port: port,
                        path: path,
                        headers: ["Authorization": "Bearer \(quick.apiKey)"],
                        timeoutSeconds: 12
                    )
                    let elapsed = clock.now - start
                    #expect(status == 200, "\(path)")
                    // Starved requests wait for a pooled connection indefinitely (the runs before the fix
                    // never answered); the bound leaves room for the whole suite running in parallel.
                    #expect(elapsed < .seconds(8), "\(path) took \(elapsed) while 12 clients read slowly")
                }
            }
        }
    }

    static func createTodos(_ count: Int, user: Int64, runtime: AlmanacRuntime) async throws {
        var version = try await runtime.store.version(of: user)
        for chunk in stride(from: 0, to: count, by: 2000) {
            let events = try (chunk..<min(count, chunk + 2000)).flatMap { index in
                TodoCommands.create(
                    try NewTodo(title: "todo \(index) with a title long enough to weigh something"),
                    id: index + 1,
                    uid: UUID().uuidString.lowercased(),
                    at: Timestamp(microseconds: 1_700_000_000_000_000)
                )
            }
            try await runtime.store.withTransaction { connection in
                try await runtime.services.commands.append(events, user: user, expectedVersion: version, on: connection)
            }
            version += Int64(events.count)
        }
    }
}
