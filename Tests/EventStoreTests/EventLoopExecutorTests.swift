import AlmanacTestSupport
import Logging
import NIOCore
import PostgresNIO
import Testing

@testable import EventStore

@Suite("Statements on the connection's event loop")
struct EventLoopExecutorTests {
    /// A task that prefers a connection's loop runs there, and is resumed there after each
    /// statement (no switch back to the cooperative pool in between).
    @Test func aPreferringTaskStaysOnTheLoopAcrossStatements() async throws {
        try await LongLivedConnectionTests.withConnection { connection, logger in
            #expect(!connection.eventLoop.inEventLoop)
            try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
                #expect(connection.eventLoop.inEventLoop)
                for n in 1...5 {
                    for try await echoed in try await connection.run("SELECT \(n)::int4", logger: logger)
                        .decode(Int32.self)
                    {
                        #expect(echoed == Int32(n))
                    }
                    #expect(connection.eventLoop.inEventLoop)
                }
            }
            #expect(!connection.eventLoop.inEventLoop)
        }
    }

    /// A command's transaction runs on its connection's loop, and commits.
    @Test func aCommandTransactionRunsOnItsConnectionsLoop() async throws {
        try await TestDatabase.withStore { store in
            let appended = try await store.withTransactionOnConnectionLoop { connection in
                #expect(connection.eventLoop.inEventLoop)
                let recorded = try await store.append(
                    stream: 11,
                    expectedVersion: 0,
                    events: EventStoreTests.events(3),
                    on: connection
                )
                #expect(connection.eventLoop.inEventLoop)
                return recorded.count
            }
            #expect(appended == 3)
            #expect(try await store.version(of: 11) == 3)
        }
    }

    /// On the loop too, a statement in flight when its connection closes fails instead of
    /// waiting for a reply that will never come.
    @Test func aStatementInFlightOnTheLoopFailsWhenTheConnectionCloses() async throws {
        try await LongLivedConnectionTests.withConnection { connection, logger in
            let started = ContinuousClock.now
            try await withTaskExecutorPreference(EventLoopExecutor(connection.eventLoop)) {
                async let sleeping = connection.run("SELECT pg_sleep(30)", logger: logger)
                try await Task.sleep(for: .milliseconds(300))
                try await connection.close().get()
                var failed = false
                do { _ = try await sleeping } catch { failed = true }
                #expect(failed, "the statement in flight did not fail when its connection closed")
            }
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }
}
