import AlmanacTestSupport
import EventStore
import Foundation
import PostgresNIO
import Synchronization
import Testing

/// A LISTEN connection that dies silently (no reset: here, its server process is stopped) must
/// be noticed by the keepalive and replaced, and whatever was trusted because of it dropped.
@Suite("LISTEN keepalive")
struct ListenTests {
    final class Events: Sendable {
        let listening = Atomic(0)
        let lost = Atomic(0)
        let heard = Mutex<[String]>([])
    }

    @Test(.timeLimit(.minutes(1)))
    func aSilentlyDeadListenConnectionIsReplaced() async throws {
        try await TestDatabase.withStore { store in
            let channel = "test_\(UUID().uuidString.prefix(8).lowercased())"
            let events = Events()
            let listener = Task {
                await store.listen(
                    on: channel,
                    keepalive: .milliseconds(200),
                    keepaliveTimeout: .milliseconds(500),
                    onListening: { events.listening.add(1, ordering: .relaxed) },
                    onLost: { events.lost.add(1, ordering: .relaxed) },
                    onNotification: { payload in events.heard.withLock { $0.append(payload) } }
                )
            }
            defer { listener.cancel() }
            try await poll("the LISTEN takes effect") { events.listening.load(ordering: .relaxed) == 1 }
            let backend = try #require(try await Self.listeningBackend(channel, store: store))
            // Stop the backend: the TCP connection stays open, nothing answers.
            kill(backend, SIGSTOP)
            defer { kill(backend, SIGCONT) }
            try await poll("the dead connection is noticed", limit: .seconds(10)) {
                events.lost.load(ordering: .relaxed) >= 1
            }
            try await poll("a new LISTEN takes effect", limit: .seconds(10)) {
                events.listening.load(ordering: .relaxed) >= 2
            }
            try await store.client.query("SELECT pg_notify(\(channel), 'after')", logger: TestDatabase.logger)
            try await poll("the new connection hears notifications") {
                events.heard.withLock { $0.contains("after") }
            }
        }
    }

    /// The server process of the connection LISTENing on `channel`: on this test's own database,
    /// the one whose last statement was the LISTEN or the keepalive (the request pool's
    /// connections ran nothing else but this query).
    static func listeningBackend(_ channel: String, store: EventStore) async throws -> Int32? {
        let rows = try await store.client.query(
            """
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND (query LIKE \("LISTEN \"\(channel)\"%") OR query = 'SELECT 1')
            """,
            logger: TestDatabase.logger
        )
        for try await pid in rows.decode(Int32.self) { return pid }
        return nil
    }
}
