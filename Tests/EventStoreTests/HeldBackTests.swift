import AlmanacTestSupport
import EventStore
import Logging
import PostgresNIO
import Testing

@testable import EventStore

/// A reader held behind the gap-safe horizon backs off instead of polling 100 times a second,
/// and can name the transaction that holds it.
@Suite("Held back behind the horizon")
struct HeldBackTests {
    @Test func looksBackOffFrom10msTo500ms() {
        var held = HeldBack(threshold: .seconds(5))
        let pauses = (0..<8).map { _ in held.pause() }
        #expect(
            pauses.map { $0.components.attoseconds / 1_000_000_000_000_000 + $0.components.seconds * 1000 } == [
                10, 20, 40, 80, 160, 320, 500, 500,
            ]
        )
        #expect(held.release() == nil, "a short wait is not reported")
        #expect(held.pause() == .milliseconds(10), "a new wait starts over")
    }

    @Test func theTransactionHoldingTheHorizonIsNamed() async throws {
        try await TestDatabase.withStore { store in
            try await store.client.withConnection { open in
                try await open.run("BEGIN", logger: TestDatabase.logger)
                try await open.run("SELECT pg_current_xact_id()", logger: TestDatabase.logger)
                // Ours is open, so there is one (other tests' may be older on the shared cluster).
                let blocker = try #require(try await store.oldestWritingTransaction())
                #expect(blocker.ageSeconds >= 0)
                #expect(blocker.pid > 0)
                try await open.run("ROLLBACK", logger: TestDatabase.logger)
            }
        }
    }
}
