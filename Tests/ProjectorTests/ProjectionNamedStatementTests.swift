import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import PostgresNIO
import Testing

@testable import Projector

/// The projection's statements follow the store's `preparedStatements`, and its output is the
/// same either way.
@Suite("Projection statements, named or not")
struct ProjectionNamedStatementTests {
    static let projectionNames: Set<String> = [
        "almanac_start_batch", "almanac_lock_calendar_head", "almanac_calendar_entries",
        "almanac_write_calendar_entries", "almanac_advance_calendar", "almanac_save_checkpoint",
    ]

    @Test(arguments: [true, false])
    func aBatchPreparesItsStatementsOnlyWhenTheStoreDoes(prepared: Bool) async throws {
        try await TestDatabase.withStore(poolSize: 1) { pooled in
            let store = EventStore(client: pooled.client, logger: pooled.logger, preparedStatements: prepared)
            let events = CommandScript.events(Array(stride(from: 3, to: 600, by: 37)))
            try await ProjectionStorageTests.append(events, store: store, chunk: 5)
            let writer = ProjectionWriter(store: store)
            // Read as the store-tailing projector reads, page by page: a page stays empty while
            // another test's transaction on the shared cluster holds the horizon back (a fresh-clone
            // run once waited more than 30 s; the other readers of the shared log allow 90 s).
            let end = try #require(try await store.readStream(ProjectionStorageTests.user).last).cursor
            var cursor = GlobalCursor.start
            try await TestDatabase.pollPastTheHorizon(
                "the log is projected through its last event",
                store: store,
                limit: .seconds(90)
            ) {
                let page = try await store.readAll(after: cursor, limit: 7)
                if let last = page.last {
                    try await writer.apply(page, checkpoint: (name: "named-statements", cursor: last.cursor))
                    cursor = last.cursor
                }
                return cursor >= end
            }
            let comparison = try #require(
                try await CalendarRebuilder(store: store).compare(user: ProjectionStorageTests.user, variant: .events)
            )
            #expect(comparison.matches)
            #expect(comparison.version == Int64(events.count))
            var names = Set<String>()
            let rows = try await store.client.run("SELECT name FROM pg_prepared_statements", logger: store.logger)
            for try await name in rows.decode(String.self) { names.insert(name) }
            if prepared {
                #expect(
                    names.isSuperset(of: Self.projectionNames),
                    "missing: \(Self.projectionNames.subtracting(names))"
                )
                #expect(names.contains("almanac_read_log"))
            } else {
                #expect(names.isEmpty, "prepared: \(names)")
            }
        }
    }

    /// Each projection statement's text is the same whatever its values (see
    /// `NamedStatementTests.eachStatementsTextDoesNotDependOnItsValues`), each name its own.
    @Test func eachStatementsTextDoesNotDependOnItsValues() {
        let todo = Todo(
            created: TodoCreated(
                todoID: 3,
                uid: "u",
                title: "t",
                description: "",
                completed: false,
                deadline: nil,
                at: Timestamp(microseconds: 1)
            )
        )
        let entry = CalendarEntry(todo: todo, deleted: false, event: Array("E".utf8), task: nil, changedVersion: 4)
        let statements: [(String, String, String)] = [
            (CalendarHead.name, CalendarHead.sql, CalendarHead.query(user: 9).sql),
            (LockCalendarHead.name, LockCalendarHead.sql, LockCalendarHead.query(user: 9).sql),
            (CalendarEntries.name, CalendarEntries.sql, CalendarEntries.query(user: 9, ids: [1, 2]).sql),
            (
                WriteCalendarEntries.name, WriteCalendarEntries.sql,
                WriteCalendarEntries.query([entry, entry], user: 9).sql
            ),
            (
                AdvanceCalendar.name, AdvanceCalendar.sql,
                AdvanceCalendar.query(
                    user: 9,
                    version: 12,
                    settings: CalendarSettings(name: "n", timeZone: "Europe/Paris"),
                    generation: 3
                ).sql
            ),
            (StartBatch.name, StartBatch.sql, StartBatch.query(users: [1, 2, 3]).sql),
        ]
        for (name, sql, built) in statements { #expect(sql == built, "\(name)") }
        #expect(Set(statements.map(\.0)).count == statements.count)
        #expect(
            Set(statements.map(\.0))
                == Self.projectionNames.subtracting(["almanac_save_checkpoint"]).union(["almanac_calendar_head"])
        )
    }
}
