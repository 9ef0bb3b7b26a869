import AlmanacTestSupport
import Domain
import EventStore
import PostgresNIO
import Projector
import Testing

/// `drainCommitted` (tests, benchmarks and tools wait on it) either applies everything committed
/// or fails: a drain that ran out of time used to return as if it had finished, and what came
/// after it read a half-projected calendar (a fresh-clone run of the whole suite: a one-todo edit
/// recompressed more than the one block it touched, because the drain before it had stopped short
/// of the calendar's last events; another run: a relay drain published 11 of 22 events).
@Suite("Draining what is committed")
struct DrainCommittedTests {
    @Test func aDrainOutOfTimeThrowsInsteadOfReturning() async throws {
        try await TestDatabase.withStore { store in
            let projector = StoreTailingProjector(writer: ProjectionWriter(store: store))
            try await store.client.withConnection { older in
                // An open transaction with an event of its own holds the gap-safe horizon: the
                // events committed after it cannot be read until it ends.
                try await older.query("BEGIN", logger: store.logger)
                _ = try await store.append(
                    stream: 2,
                    expectedVersion: 0,
                    events: CommandScript.events([1]).map { NewEvent(type: $0.type, data: EventCoding.encode($0)) },
                    on: older
                )
                try await ProjectionStorageTests.append(CommandScript.events([1, 2, 3]), store: store)
                await #expect(throws: LogTail.DrainTimedOut.self) {
                    try await projector.drainCommitted(timeout: .milliseconds(300))
                }
                try await older.query("ROLLBACK", logger: store.logger)
            }
            // Once the horizon passes, the same drain finishes, and one with no time left has
            // nothing to wait for.
            try await projector.drainCommitted()
            try await projector.drainCommitted(timeout: .zero)
            #expect(try await ProjectionStorageTests.projectedVersion(store) == 3)
        }
    }
}
