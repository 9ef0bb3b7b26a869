import Domain
import EventStore
import Logging
import PostgresNIO

/// Deferred re-renders: a time-zone change of a large calendar, done in short transactions.
///
/// Re-rendering 100,000 entries takes seconds. Inside the projector's shared transaction it
/// held back every other user's changes; in one long transaction of its own it still held back
/// the gap-safe reader of the whole cluster (which waits for every open writing transaction).
/// So the re-render is written chunk by chunk beside the served fragments (`next_event`,
/// `next_task`), each chunk its own short transaction, while the feed keeps serving the calendar
/// as it was; one short transaction then advances the calendar to the zone change, which makes
/// readers take the new fragments, all at once; the new fragments are then folded into the
/// served columns, chunk by chunk (readers see the same bytes before and after).
extension ProjectionWriter {
    /// Entries per re-render transaction.
    public static let rerenderChunk = 2_000

    /// The advisory lock held by the one process re-rendering `user` (a constant namespace in
    /// the high bits, "RR", and the user id).
    public static func rerenderLockKey(user: Int64) -> Int64 {
        (0x5252 << 48) | (user & 0xFFFF_FFFF_FFFF)
    }

    /// Brings a deferred calendar to its stream's head: events are applied as usual, each
    /// time-zone change is re-rendered in short transactions, and the deferrals covered are
    /// deleted. Returns nil, doing nothing, when another process is already on this user.
    @discardableResult
    public func completeDeferred(user: Int64, chunk: Int = Self.rerenderChunk) async throws -> Report? {
        try await store.withSessionLock(key: Self.rerenderLockKey(user: user), wait: false) { connection in
            var report = Report()
            while true {
                let (step, stepReport) = try await store.withTransaction(on: connection) { connection in
                    try await advanceToZoneChange(user: user, on: connection)
                }
                report.merge(stepReport)
                switch step {
                case .done: return report
                case .more: continue
                case .zoneChange(let zoneChange):
                    try await rerender(zoneChange, user: user, chunk: chunk, on: connection, report: &report)
                }
            }
        }
    }

    /// A time-zone change found in a deferred user's stream: the calendar stands at `baseVersion`
    /// (the event before it) in `generation`.
    struct ZoneChange: Sendable {
        var version: Int64
        var settings: CalendarSettings
        var baseVersion: Int64
        var generation: Int
    }

    /// In one transaction: applies the user's events up to the first one that changes the time
    /// zone, or the next `deferredReadLimit` of them (deleting the deferrals they cover when they
    /// reach the stream's head), and returns that change; nil when there is none (`done` says
    /// whether the stream's head was reached).
    private func advanceToZoneChange(user: Int64, on connection: PostgresConnection) async throws
        -> (step: Step, report: Report)
    {
        var report = Report()
        let head = try await calendars.lock(user: user, on: connection)
        let streamHead = try await store.version(of: user, on: connection)
        let through = min(streamHead, head.version + Int64(deferredReadLimit))
        var events: [RecordedEvent] = []
        if through > head.version {
            events = try await store.readStream(user, from: head.version + 1, through: through, on: connection)
            guard events.count == Int(through - head.version), events.last?.version == through else {
                throw StreamNotContiguous(user: user, from: head.version + 1, through: through, read: events.count)
            }
            report.eventsRead = events.count
        }
        var settings = head.settings
        var change: (index: Int, settings: CalendarSettings)?
        for (index, recorded) in events.enumerated() {
            let event = try EventCoding.decode(type: recorded.type, data: recorded.data)
            guard let next = CalendarProjection.settings(after: event, from: settings) else { continue }
            if next.timeZone != settings.timeZone {
                change = (index, next)
                break
            }
            settings = next
        }
        var writer = self
        writer.inlineRerenderLimit = nil
        let prefix = change.map { Array(events[..<$0.index]) } ?? events
        try await writer.project(prefix, user: user, head: head, on: connection, report: &report)
        guard let change else {
            guard through >= streamHead else { return (.more, report) }
            try await calendars.clearDeferrals(user: user, through: max(streamHead, head.version), on: connection)
            return (.done, report)
        }
        let zoneChange = ZoneChange(
            version: events[change.index].version,
            settings: change.settings,
            baseVersion: prefix.last?.version ?? head.version,
            generation: head.generation
        )
        return (.zoneChange(zoneChange), report)
    }

    /// What one step of a deferred calendar found.
    enum Step: Sendable {
        /// The calendar reached its stream's head; its deferrals are deleted.
        case done
        /// More events follow (read in the next step).
        case more
        /// A time-zone change to re-render; the calendar stands just before it.
        case zoneChange(ZoneChange)
    }

    /// Re-renders every live entry for `zoneChange` beside the served fragments, switches the
    /// calendar to them in one short transaction, and folds them in. Called with the user's
    /// re-render lock held on `connection`; gives up (to be found again) when the calendar moved.
    private func rerender(
        _ zoneChange: ZoneChange,
        user: Int64,
        chunk: Int,
        on connection: PostgresConnection,
        report: inout Report
    ) async throws {
        // What an interrupted or earlier re-render left: folded if reached, dropped if not.
        while try await calendars.foldNext(user: user, limit: chunk, on: connection) > 0 {}
        let renderer = FragmentRenderer(timeZoneIdentifier: zoneChange.settings.timeZone)
        var after = 0
        while true {
            let written = try await store.withTransaction(on: connection) { connection in
                let ids = try await calendars.liveEntryIDs(user: user, after: after, limit: chunk, on: connection)
                let current = try await calendars.entries(user: user, ids: ids, on: connection)
                let rendered = current.values.map { renderer.render($0.todo, changedVersion: zoneChange.version) }
                try await calendars.writeNext(rendered, version: zoneChange.version, user: user, on: connection)
                return (last: ids.last, count: rendered.count)
            }
            report.entriesWritten += written.count
            guard let last = written.last else { break }
            after = last
        }
        let switched = try await store.withTransaction(on: connection) { connection in
            let head = try await calendars.lock(user: user, on: connection)
            // A rebuild (new generation) or anything else that moved the calendar meanwhile: start over.
            guard head.version == zoneChange.baseVersion, head.generation == zoneChange.generation else {
                return false
            }
            // A new generation: caches reload the calendar instead of applying a delta.
            try await calendars.advance(
                user: user,
                to: zoneChange.version,
                settings: zoneChange.settings,
                generation: head.generation + 1,
                on: connection
            )
            return true
        }
        if switched {
            report.eventsApplied += 1
            report.versions[user] = zoneChange.version
        } else {
            store.logger.info(
                "a deferred re-render found its calendar moved; starting over",
                metadata: ["user": "\(user)", "version": "\(zoneChange.version)"]
            )
        }
        while try await calendars.foldNext(user: user, limit: chunk, on: connection) > 0 {}
    }
}

extension ProjectionWriter.Report {
    /// Adds what another step of the same work did.
    mutating func merge(_ other: Self) {
        entriesWritten += other.entriesWritten
        eventsApplied += other.eventsApplied
        gapEventsRead += other.gapEventsRead
        eventsRead += other.eventsRead
        versions.merge(other.versions) { $1 }
        beyondHead.merge(other.beyondHead) { $1 }
        deferred.merge(other.deferred) { $1 }
    }
}
