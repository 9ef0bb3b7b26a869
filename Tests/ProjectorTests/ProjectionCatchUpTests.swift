import AlmanacTestSupport
import Domain
import EventStore
import Projector
import Testing

/// `ProjectionWriter.catchUp`: the bus projector's entry point, which trusts only the store.
@Suite("Projection catch-up from stream hints")
struct ProjectionCatchUpTests {
    @Test func hintsProjectTheStoresEventsAndIgnoreVersionsBeyondTheHead() async throws {
        try await TestDatabase.withStore { store in
            let user = ProjectionStorageTests.user
            let events = CommandScript.events(Array(stride(from: 3, to: 600, by: 37)))
            try await ProjectionStorageTests.append(events, store: store, chunk: 4)
            let head = Int64(events.count)
            let writer = ProjectionWriter(store: store)

            // A hint in the middle of the stream projects exactly up to it.
            let first = try await writer.catchUp([user: 5])
            #expect(first.versions[user] == 5 && first.eventsRead == 5 && first.beyondHead.isEmpty)

            // A duplicate changes nothing and reads nothing.
            let duplicate = try await writer.catchUp([user: 3])
            #expect(duplicate.eventsApplied == 0 && duplicate.eventsRead == 0)

            // A hint beyond the head (no such event was ever committed): the store's events up to
            // the head are projected, the rest is reported and skipped.
            let forged = try await writer.catchUp([user: head + 3, 9_999_999: 1])
            #expect(forged.beyondHead == [user: head + 3, 9_999_999: 1])
            #expect(forged.versions[user] == head)
            #expect(forged.eventsRead == Int(head - 5))

            for variant in FeedVariant.allCases {
                let comparison = try #require(
                    try await CalendarRebuilder(store: store).compare(user: user, variant: variant)
                )
                #expect(comparison.version == head)
                #expect(comparison.matches, "\(variant)")
            }
            // An unknown stream gets no calendar row.
            #expect(try await CalendarRebuilder(store: store).compare(user: 9_999_999, variant: .events) == nil)
        }
    }
}
