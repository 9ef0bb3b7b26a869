import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import Logging
import PostgresNIO
import Projector
import Runtime
import ServiceLifecycle
import Testing

@Suite("Calendar projection on PostgreSQL")
struct ProjectionStorageTests {
    static let user: Int64 = 1

    /// Appends the scripted events for `user` in chunks, as the API would.
    static func append(_ events: [TodoEvent], user: Int64 = user, store: EventStore, chunk: Int = 500) async throws {
        var version = try await store.version(of: user)
        for start in stride(from: 0, to: events.count, by: chunk) {
            let slice = events[start..<min(start + chunk, events.count)]
            try await store.append(
                stream: user,
                expectedVersion: version,
                events: slice.map { NewEvent(type: $0.type, data: EventCoding.encode($0)) }
            )
            version += Int64(slice.count)
        }
    }

    @Test func shuffledAndDuplicatedDeliveriesMatchFullRegeneration() async throws {
        try await TestDatabase.withStore { store in
            let events = CommandScript.events(Array(stride(from: 3, to: 3000, by: 37)))
            try await Self.append(events, store: store, chunk: 7)
            let recorded = try await store.readStream(Self.user)
            var random = SplitMix(state: 42)
            var deliveries = recorded + recorded.filter { _ in Bool.random(using: &random) }
            deliveries.shuffle(using: &random)
            let writer = ProjectionWriter(store: store)
            var gapReads = 0
            for start in stride(from: 0, to: deliveries.count, by: 6) {
                let report = try await writer.apply(Array(deliveries[start..<min(start + 6, deliveries.count)]))
                gapReads += report.gapEventsRead
            }
            #expect(gapReads > 0, "the shuffled order should have produced gaps filled from the store")
            let comparison = try #require(
                try await CalendarRebuilder(store: store).compare(user: Self.user, variant: .events)
            )
            #expect(comparison.version == Int64(events.count))
            #expect(text(comparison.incremental) == text(comparison.full))
            for variant in FeedVariant.allCases {
                let again = try #require(
                    try await CalendarRebuilder(store: store).compare(user: Self.user, variant: variant)
                )
                #expect(again.matches, "\(variant)")
                #expect(text(again.full) == text(FullRegeneration.feed(events: events, variant: variant)))
            }
        }
    }

    /// A projection write locks the calendar row (made at version 0 the first time; a row another
    /// transaction is creating is waited for and returned as committed) and NOTIFYs
    /// `user:version:generation` at commit: what `FeedLookups` parses to forget the row and keep
    /// the tokens.
    @Test func aProjectionWriteLocksTheRowAndAnnouncesItsVersionAndGeneration() async throws {
        try await TestDatabase.withStore { store in
            let heard = AsyncStream<String>.makeStream()
            let listening = AsyncStream<Void>.makeStream()
            let listener = Task {
                await store.listen(
                    on: Channels.calendars,
                    onListening: { listening.continuation.yield() },
                    onNotification: { heard.continuation.yield($0) }
                )
            }
            defer { listener.cancel() }
            for await _ in listening.stream { break }
            let calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
            let first = try await store.withTransaction { try await calendars.lock(user: 77, on: $0) }
            #expect(first.version == 0)
            #expect(first.generation == 1)
            try await store.withTransaction { connection in
                let head = try await calendars.lock(user: 77, on: connection)
                #expect(head.version == 0)
                try await calendars.advance(user: 77, to: 5, settings: head.settings, on: connection)
            }
            try await store.withTransaction { connection in
                let head = try await calendars.lock(user: 77, on: connection)
                #expect(head.version == 5)
                try await calendars.advance(user: 77, to: 6, settings: head.settings, generation: 3, on: connection)
            }
            var payloads = heard.stream.makeAsyncIterator()
            #expect(await payloads.next() == "77:5:1")
            #expect(await payloads.next() == "77:6:3")
            // Another session waiting for the lock gets the row as the holder committed it.
            let (locked, lockedContinuation) = AsyncStream<Void>.makeStream()
            let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await store.withTransaction { connection in
                    let head = try await calendars.lock(user: 78, on: connection)
                    lockedContinuation.yield()
                    for await _ in release { break }
                    try await calendars.advance(user: 78, to: 9, settings: head.settings, on: connection)
                }
            }
            for await _ in locked { break }
            async let waiter = store.withTransaction { try await calendars.lock(user: 78, on: $0) }
            // Released once the waiter waits for the holder's insert: it cannot have read the row first.
            try await Self.waitUntilASessionWaits(for: "transactionid", store: store)
            releaseContinuation.yield()
            try await holder.value
            #expect(try await waiter.version == 9)
        }
    }

    /// Returns once a session of this test's database waits for a lock of the kind `event`.
    static func waitUntilASessionWaits(for event: String, store: EventStore) async throws {
        for _ in 0..<1_000 {
            let rows = try await store.client.run(
                """
                SELECT count(*)::int FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = \(event)
                """,
                logger: store.logger
            ).decode(Int.self)
            for try await count in rows where count > 0 { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no session waited for a \(event) lock")
    }

    /// Invariant 5: a crash between the projection write and the checkpoint leaves nothing half done.
    @Test func crashBeforeTheCheckpointRollsBackTheWholeBatch() async throws {
        try await TestDatabase.withStore { store in
            let events = CommandScript.events(Array(stride(from: 1, to: 400, by: 13)))
            try await Self.append(Array(events.prefix(10)), store: store)
            let runner = StoreTailingProjector(writer: ProjectionWriter(store: store), batchSize: 1000)
            try await Self.drain(runner, store: store, until: 10)
            let before = try #require(
                try await CalendarRebuilder(store: store).compare(user: Self.user, variant: .tasks)
            )

            try await Self.append(Array(events.dropFirst(10)), store: store)
            struct Crash: Error {}
            var crashing = ProjectionWriter(store: store)
            crashing.faultInjection = { stage in if stage == .beforeCheckpoint { throw Crash() } }
            let crashingRunner = StoreTailingProjector(writer: crashing, batchSize: 1000)
            var cursor = try await store.client.withConnection {
                try await Checkpoints.load(crashingRunner.checkpointName, on: $0, logger: TestDatabase.logger)
            }
            let savedCursor = cursor
            await #expect(throws: Crash.self) {
                // Retry while other tests' transactions hold the horizon back (empty reads).
                try await poll("the crashing runner reads the batch", interval: .milliseconds(10)) {
                    try await !crashingRunner.catchUp(from: &cursor)
                }
            }

            // Nothing of the batch is visible: same version, same bytes, same checkpoint.
            let after = try #require(
                try await CalendarRebuilder(store: store).compare(user: Self.user, variant: .tasks)
            )
            #expect(after.version == before.version)
            #expect(after.incremental == before.incremental)
            let checkpoint = try await store.client.withConnection {
                try await Checkpoints.load(runner.checkpointName, on: $0, logger: TestDatabase.logger)
            }
            #expect(checkpoint == savedCursor)

            // A restarted runner resumes from the checkpoint and converges.
            try await Self.drain(runner, store: store, until: Int64(events.count))
            let final = try #require(
                try await CalendarRebuilder(store: store).compare(user: Self.user, variant: .tasks)
            )
            #expect(final.version == Int64(events.count))
            #expect(final.matches)
        }
    }

    /// Drains the runner until the calendar reaches `version` (other tests' transactions on the
    /// same cluster can hold the gap-safe horizon back for a moment).
    static func drain(_ runner: StoreTailingProjector, store: EventStore, until version: Int64) async throws {
        try await poll("the projection reaches version \(version)", interval: .milliseconds(20)) {
            try await runner.drainCommitted()
            return try await projectedVersion(store) >= version
        }
    }

    static func projectedVersion(_ store: EventStore) async throws -> Int64 {
        try await store.client.withConnection {
            try await CalendarStore(logger: TestDatabase.logger, preparedStatements: true).head(user: user, on: $0)
        }?.version ?? 0
    }

    @Test func embeddedRunnerMakesWritesVisibleWithinMilliseconds() async throws {
        try await TestDatabase.withStore { store in
            let runner = StoreTailingProjector(writer: ProjectionWriter(store: store), pollInterval: .seconds(60))
            try await AlmanacRuntime.withRunning([runner], logger: TestDatabase.logger) {
                try await poll("the projector listens") { runner.isListening }
                let events = CommandScript.events([0, 1, 2])
                try await Self.append(events, store: store)
                // Woken by NOTIFY, not by the 60 s poll: the limit is well below the poll interval
                // (other tests' long transactions may hold the horizon back for a few seconds on
                // this shared cluster, hence not milliseconds).
                try await poll("the projection reaches the appended version", limit: .seconds(40)) {
                    try await Self.projectedVersion(store) == Int64(events.count)
                }
            }
        }
    }

    @Test func rebuildReplacesTheProjectionWithTheSameBytesAsANewGeneration() async throws {
        try await TestDatabase.withStore { store in
            let events = CommandScript.events(Array(stride(from: 5, to: 2000, by: 29)))
            try await Self.append(events, store: store)
            try await Self.drain(
                StoreTailingProjector(writer: ProjectionWriter(store: store)),
                store: store,
                until: Int64(events.count)
            )
            let incremental = try #require(
                try await CalendarRebuilder(store: store).compare(user: Self.user, variant: .events)
            )
            let state = try await CalendarRebuilder(store: store).rebuild(user: Self.user)
            #expect(state.version == Int64(events.count))
            let rebuilt = try #require(
                try await CalendarRebuilder(store: store).compare(user: Self.user, variant: .events)
            )
            #expect(rebuilt.incremental == incremental.incremental)
            let head = try await store.client.withConnection {
                try await CalendarStore(logger: TestDatabase.logger, preparedStatements: true).head(
                    user: Self.user,
                    on: $0
                )
            }
            #expect(head?.generation == 2)
        }
    }

    /// A bulk completion of k todos in an N-todo calendar writes k entries, not N.
    @Test func bulkCompletionOf10kIn100kTouches10kFragments() async throws {
        try await TestDatabase.withStore(poolSize: 4) { store in
            let n = 100_000
            let k = 10_000
            var events: [TodoEvent] = [
                .userRegistered(UserRegistered(name: "big", timeZone: "UTC", at: Timestamp(microseconds: 0)))
            ]
            events.reserveCapacity(n + 1)
            for id in 1...n {
                events.append(
                    .todoCreated(
                        TodoCreated(
                            todoID: id,
                            uid: "big-\(id)",
                            title: "Todo \(id), with a comma",
                            description: id % 10 == 0 ? "line\nbreak" : "",
                            completed: false,
                            deadline: try Deadline(parsing: "2026-\(String(format: "%02d", id % 12 + 1))-15T10:00:00"),
                            at: Timestamp(microseconds: Int64(id))
                        )
                    )
                )
            }
            try await Self.append(events, store: store, chunk: 5_000)
            let writer = ProjectionWriter(store: store)
            for start in stride(from: 1, through: n + 1, by: 10_000) {
                let chunk = try await store.readStream(Self.user, from: Int64(start), through: Int64(start + 9_999))
                try await writer.apply(chunk)
            }
            let bulk = TodoEvent.todosCompleted(
                TodosCompleted(
                    todoIDs: Array(stride(from: 1, through: n, by: n / k)),
                    at: Timestamp(microseconds: 999_999_999)
                )
            )
            try await Self.append([bulk], store: store)
            let bulkEvent = try await store.readStream(Self.user, from: Int64(n + 2), through: Int64(n + 2))
            let report = try await writer.apply(bulkEvent)
            #expect(report.entriesWritten == k)

            // Count the rows the projection transaction physically wrote.
            let rows = try await store.client.query(
                """
                SELECT count(*) FROM calendar_entries
                WHERE user_id = \(Self.user) AND xmin::text = \(String(report.txid % (1 << 32)))
                """,
                logger: TestDatabase.logger
            ).decode(Int64.self)
            var written: Int64 = -1
            for try await count in rows { written = count }
            #expect(written == Int64(k))

            let comparison = try #require(
                try await CalendarRebuilder(store: store).compare(user: Self.user, variant: .events)
            )
            #expect(comparison.matches)
            let vevents = text(comparison.incremental).components(separatedBy: "BEGIN:VEVENT").count - 1
            #expect(vevents == n - k)
        }
    }
}
