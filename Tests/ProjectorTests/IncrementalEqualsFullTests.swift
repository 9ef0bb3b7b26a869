import AlmanacTestSupport
import Domain
import ICal
import Projector
import PropertyBased
import Testing

/// Invariant 6: incremental(events) == full(events), byte for byte, for any event sequence.
@Suite("Incremental projection equals full regeneration")
struct IncrementalEqualsFullTests {
    @Test func anyCommandSequenceInAnyBatchingGivesTheSameBytes() async {
        await propertyCheck(
            count: 300,
            input: Gen.int(in: 0...100_000).array(of: 0...60),
            Gen.int(in: 1...8)
        ) { codes, batchSize in
            let events = CommandScript.numbered(CommandScript.events(codes))
            var calendar = InMemoryCalendar()
            for start in stride(from: 0, to: events.count, by: batchSize) {
                calendar.apply(Array(events[start..<min(start + batchSize, events.count)]))
            }
            for variant in FeedVariant.allCases {
                let full = FullRegeneration.feed(events: events.map(\.event), variant: variant)
                #expect(text(calendar.feed(variant)) == text(full), "\(variant) differs for codes \(codes)")
            }
        }
    }

    @Test func duplicatedAndShuffledDeliveriesGiveTheSameBytes() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...100_000).array(of: 1...50), Gen.int(in: 0...1_000_000)) {
            codes,
            seed in
            let events = CommandScript.numbered(CommandScript.events(codes))
            var random = SplitMix(state: UInt64(seed))
            // At-least-once and unordered: every event once or more, in random chunks.
            var deliveries = events + events.filter { _ in Bool.random(using: &random) }
            deliveries.shuffle(using: &random)
            var calendar = InMemoryCalendar()
            var index = 0
            while index < deliveries.count {
                let size = Int.random(in: 1...5, using: &random)
                let chunk = Array(deliveries[index..<min(index + size, deliveries.count)])
                calendar.deliver(chunk) { range in Array(events[Int(range.lowerBound - 1)...Int(range.upperBound - 1)])
                }
                index += size
            }
            #expect(calendar.version == Int64(events.count))
            for variant in FeedVariant.allCases {
                #expect(
                    text(calendar.feed(variant))
                        == text(FullRegeneration.feed(events: events.map(\.event), variant: variant))
                )
            }
        }
    }

    @Test func aBulkCompletionTouchesOnlyItsTodos() {
        var calendar = InMemoryCalendar()
        var events: [TodoEvent] = [
            .userRegistered(UserRegistered(name: "n", timeZone: "UTC", at: Timestamp(microseconds: 0)))
        ]
        for id in 1...2_000 {
            events.append(
                .todoCreated(
                    TodoCreated(
                        todoID: id,
                        uid: "u\(id)",
                        title: "t\(id)",
                        description: "",
                        completed: false,
                        deadline: try! Deadline(parsing: "2026-01-01T10:00:00"),
                        at: Timestamp(microseconds: Int64(id))
                    )
                )
            )
        }
        calendar.apply(CommandScript.numbered(events))
        #expect(calendar.lastWrittenEntries == 2_000)
        let bulk = TodoEvent.todosCompleted(
            TodosCompleted(todoIDs: Array(1...100), at: Timestamp(microseconds: 99_999))
        )
        calendar.apply([(Int64(events.count + 1), bulk)])
        #expect(calendar.lastWrittenEntries == 100)
        #expect(calendar.feed(.events) == FullRegeneration.feed(events: events + [bulk], variant: .events))
    }

    @Test func timeZoneReinterpretsNaiveDeadlinesOnly() throws {
        let at = Timestamp(microseconds: 0)
        let events: [TodoEvent] = [
            .userRegistered(UserRegistered(name: "n", timeZone: "Europe/Paris", at: at)),
            .todoCreated(
                TodoCreated(
                    todoID: 1,
                    uid: "a",
                    title: "naive",
                    description: "",
                    completed: false,
                    deadline: try Deadline(parsing: "2026-07-15T09:30:00"),
                    at: at
                )
            ),
            .todoCreated(
                TodoCreated(
                    todoID: 2,
                    uid: "b",
                    title: "fixed",
                    description: "",
                    completed: false,
                    deadline: try Deadline(parsing: "2026-07-15T09:30:00Z"),
                    at: at
                )
            ),
            .todoCreated(
                TodoCreated(
                    todoID: 3,
                    uid: "c",
                    title: "day",
                    description: "",
                    completed: false,
                    deadline: try Deadline(parsing: "2026-07-15"),
                    at: at
                )
            ),
        ]
        let feed = String(decoding: FullRegeneration.feed(events: events, variant: .events), as: UTF8.self)
        #expect(feed.contains("DTSTART:20260715T073000Z"))  // 09:30 in Paris (UTC+2 in July)
        #expect(feed.contains("DTSTART:20260715T093000Z"))
        #expect(feed.contains("DTSTART;VALUE=DATE:20260715\r\nDTEND;VALUE=DATE:20260716"))
    }
}

/// Feeds as text, so a failing comparison prints readable lines.
func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
