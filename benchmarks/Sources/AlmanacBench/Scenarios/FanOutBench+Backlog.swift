import API
import Domain
import EventStore
import Foundation
import PostgresNIO
import Workload

/// The backlogs of the fan-out scenarios' throughput runs: events appended while no projector
/// runs, which a relay then publishes and a bus projector applies.
extension FanOutBench {
    /// `count` events of `users`, after `from` and up to `through` in the global log, not projected yet.
    struct Backlog {
        var users: [Int64]
        var from: GlobalCursor
        var through: GlobalCursor
        var count: Int
    }

    /// Appends a backlog of `total` `TodoCreated` events of `users` fresh users through the
    /// command path (not timed) while no projector runs. Eight writers append chunks of 100
    /// events for their users in turn, so the global log interleaves users and each relay batch
    /// spans many of them, as many users' writes would.
    func appendBacklog(events total: Int, users: Int) async throws -> Backlog {
        log("appending \(grouped(total)) events of \(users) users for the relay (not timed)")
        let clock = ContinuousClock()
        let start = clock.now
        let corpus = CalendarCorpus(size: (total + users - 1) / users)
        var ids: [Int64] = []
        for index in 0..<users {
            let name = "relay-\(index)-\(UUID().uuidString.prefix(8).lowercased())"
            ids.append(
                try await server.services.users.create(name: name, timeZone: corpus.registration.timeZone).user.id
            )
        }
        let from = try await lastCursor()
        let commands = server.services.commands
        let writers = 8
        let chunk = 100
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                let mine = Array(ids.enumerated().filter { $0.offset % writers == writer })
                group.addTask {
                    for first in stride(from: 0, to: corpus.size, by: chunk) {
                        for (index, user) in mine {
                            // User i holds total / users todos, one more for the first total % users.
                            let count = total / users + (index < total % users ? 1 : 0)
                            guard first < count else { continue }
                            let events = corpus.todos[first..<min(first + chunk, count)].map {
                                TodoEvent.todoCreated($0)
                            }
                            try await commands.execute(user: user) { _, _ in (events, ()) }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let through = try await lastCursor()
        let count = try await eventCount(after: from, through: through)
        guard count == total else { throw BenchError("the backlog holds \(count) events, not \(total)") }
        // As after a calendar load: statistics and the visibility map up to date.
        try await store.client.query("VACUUM (ANALYZE) events, todos", logger: store.logger)
        log("backlog of \(grouped(count)) events appended in \(format((clock.now - start).milliseconds / 1000)) s")
        return Backlog(users: ids, from: from, through: through, count: count)
    }

    /// The newest event's cursor (everything is committed: no writer runs meanwhile).
    private func lastCursor() async throws -> GlobalCursor {
        let rows = try await store.client.query(
            "SELECT txid::text, position FROM events ORDER BY events.txid DESC, events.position DESC LIMIT 1",
            logger: store.logger
        ).decode((String, Int64).self)
        for try await (txid, position) in rows {
            guard let txid = UInt64(txid) else { throw BenchError("unexpected txid \(txid)") }
            return GlobalCursor(txid: txid, position: position)
        }
        return .start
    }

    private func eventCount(after from: GlobalCursor, through: GlobalCursor) async throws -> Int {
        let rows = try await store.client.query(
            """
            SELECT count(*) FROM events
            WHERE (txid, position) > (\(String(from.txid))::xid8, \(from.position))
              AND (txid, position) <= (\(String(through.txid))::xid8, \(through.position))
            """,
            logger: store.logger
        ).decode(Int64.self)
        for try await count in rows { return Int(count) }
        return 0
    }

    /// Backlog events applied so far: the users' calendar versions beyond their registration.
    func appliedEvents(_ backlog: Backlog) async throws -> Int {
        let rows = try await store.client.query(
            "SELECT coalesce(sum(greatest(version - 1, 0)), 0)::int8 FROM calendars WHERE user_id = ANY(\(backlog.users))",
            logger: store.logger
        ).decode(Int64.self)
        for try await sum in rows { return Int(sum) }
        return 0
    }
}
