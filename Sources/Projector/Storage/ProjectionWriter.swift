import Domain
public import EventStore
import Logging
import PostgresNIO
import Tracing

/// Applies events to the calendar projection in PostgreSQL.
///
/// Two entry points, by how far the caller's events can be trusted:
/// - `apply(_:checkpoint:)` takes events read from the store (the store-tailing projector):
///   per user, only versions after the applied one count, and a gap is filled from the store,
///   so the effect is exactly once.
/// - `catchUp(_:)` takes only hints, "stream s has reached version v" (the bus projector): the
///   events are always read from the store, so a message can say which stream moved but never
///   what happened to it.
///
/// Fragments, calendar versions and the caller's checkpoint commit in one transaction.
public struct ProjectionWriter: Sendable {
    public let store: EventStore
    public let calendars: CalendarStore
    /// Test hook: called at each stage inside the transaction; throwing aborts it (a crash).
    public var faultInjection: (@Sendable (Stage) throws -> Void)?
    /// A time-zone change of a calendar with more live entries than this is not re-rendered in
    /// the shared transaction, where it would hold back every other user's changes (and the
    /// checkpoint) for as long as it takes: the user is recorded in `calendar_deferrals`, their
    /// events are skipped until `DeferredRerenderer` has brought the calendar to its stream's
    /// head, re-rendering in short transactions of its own (`completeDeferred(user:)`). nil
    /// re-renders inline whatever the size.
    public var inlineRerenderLimit: Int? = 2_000
    /// Events read per transaction while `completeDeferred(user:)` brings a deferred calendar
    /// forward (bounds its memory when many events wait).
    public var deferredReadLimit = 10_000

    public enum Stage: Sendable, Hashable {
        case fragmentsWritten(user: Int64)
        case beforeCheckpoint
    }

    public init(store: EventStore) {
        self.store = store
        self.calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
    }

    /// What one `apply` did.
    public struct Report: Sendable, Hashable {
        /// Entries written, all users together (the incremental cost).
        public var entriesWritten = 0
        /// Events applied (duplicates and stale ones excluded).
        public var eventsApplied = 0
        /// Events read from the store to fill gaps.
        public var gapEventsRead = 0
        /// The applying transaction's id (to find the rows it wrote).
        public var txid: UInt64 = 0
        /// Versions reached, per user.
        public var versions: [Int64: Int64] = [:]
        /// `catchUp` only: events read from the store because a hint named them.
        public var eventsRead = 0
        /// `catchUp` only: hints naming a version beyond their stream's head (no such event was
        /// ever committed, so the message was forged or corrupted), by stream: the hinted version.
        /// Only the store's events up to its head were projected.
        public var beyondHead: [Int64: Int64] = [:]
        /// Users left to `DeferredRerenderer` (a large time-zone change, or one pending), with
        /// the version their calendar must reach.
        public var deferred: [Int64: Int64] = [:]
    }

    /// Applies `events` of any users; `checkpoint` is saved in the same transaction.
    @discardableResult
    public func apply(_ events: [RecordedEvent], checkpoint: (name: String, cursor: GlobalCursor)? = nil) async throws
        -> Report
    {
        let byUser = Dictionary(grouping: events, by: \.streamID)
        // One span per batch, linked to the appends that wrote its events (many traces).
        return try await withSpan("projection.apply") { span in
            span.attributes["almanac.event_count"] = events.count
            span.attributes["almanac.stream_count"] = byUser.count
            if let checkpoint { span.attributes["almanac.checkpoint"] = checkpoint.name }
            TraceCarrier.link(span, to: events.lazy.map(\.traceContext))
            let report = try await apply(byUser, checkpoint: checkpoint)
            span.attributes["almanac.events_applied"] = report.eventsApplied
            return report
        }
    }

    private func apply(_ byUser: [Int64: [RecordedEvent]], checkpoint: (name: String, cursor: GlobalCursor)?)
        async throws -> Report
    {
        try await store.withTransaction { connection in
            var report = Report()
            let (txid, deferred) = try await calendars.startBatch(among: byUser.keys, on: connection)
            report.txid = txid
            for user in byUser.keys.sorted() {
                if deferred.contains(user) {
                    let version = byUser[user]!.map(\.version).max()!
                    try await calendars.deferRerender(user: user, version: version, on: connection)
                    report.deferred[user] = version
                    continue
                }
                try await apply(byUser[user]!, user: user, on: connection, report: &report)
                try faultInjection?(.fragmentsWritten(user: user))
            }
            try faultInjection?(.beforeCheckpoint)
            if let checkpoint {
                try await Checkpoints.save(
                    checkpoint.name,
                    checkpoint.cursor,
                    on: connection,
                    prepared: store.preparedStatements,
                    logger: store.logger
                )
            }
            return report
        }
    }

    /// Brings each stream's calendar to its hinted version with the store's events (one
    /// transaction for all of them); `hints` maps a stream to the version a message says it reached.
    ///
    /// Nothing of a message but the stream and the version is used: the events
    /// `applied + 1 ... version` are read from the event store inside the transaction. A hint at
    /// or below the applied version changes nothing (a duplicate); a hint beyond the stream's head
    /// names an event that was never committed (the relay publishes committed events only): it is
    /// logged, counted in `Report.beyondHead`, and only the events the store holds are projected.
    @discardableResult
    public func catchUp(_ hints: [Int64: Int64]) async throws -> Report {
        try await withSpan("projection.catch_up") { span in
            span.attributes["almanac.stream_count"] = hints.count
            let report = try await catchUpInTransaction(hints)
            span.attributes["almanac.events_applied"] = report.eventsApplied
            return report
        }
    }

    private func catchUpInTransaction(_ hints: [Int64: Int64]) async throws -> Report {
        try await store.withTransaction { connection in
            var report = Report()
            let (txid, deferred) = try await calendars.startBatch(among: hints.keys, on: connection)
            report.txid = txid
            for user in hints.keys.sorted() {
                if deferred.contains(user) {
                    let version = min(hints[user]!, try await store.version(of: user, on: connection))
                    try await calendars.deferRerender(user: user, version: version, on: connection)
                    report.deferred[user] = version
                    continue
                }
                try await catchUp(user: user, to: hints[user]!, on: connection, report: &report)
                try faultInjection?(.fragmentsWritten(user: user))
            }
            try faultInjection?(.beforeCheckpoint)
            return report
        }
    }

    private func catchUp(
        user: Int64,
        to hinted: Int64,
        on connection: PostgresConnection,
        report: inout Report
    ) async throws {
        let streamHead = try await store.version(of: user, on: connection)
        if hinted > streamHead {
            report.beyondHead[user] = hinted
            store.logger.error(
                "skipping a bus message naming a version beyond its stream's head (forged or corrupted)",
                metadata: ["user": "\(user)", "version": "\(hinted)", "head": "\(streamHead)"]
            )
        }
        let target = min(hinted, streamHead)
        // An unknown stream, or nothing new: no calendar row is created or locked.
        guard target > 0 else { return }
        if let current = try await calendars.head(user: user, on: connection), current.version >= target { return }
        let head = try await calendars.lock(user: user, on: connection)
        guard target > head.version else { return }
        let events = try await store.readStream(user, from: head.version + 1, through: target, on: connection)
        report.eventsRead += events.count
        guard events.count == Int(target - head.version), events.last?.version == target else {
            throw StreamNotContiguous(user: user, from: head.version + 1, through: target, read: events.count)
        }
        try await project(events, user: user, head: head, on: connection, report: &report)
    }

    /// The store returned fewer events than its stream's version promises (invariant 3 broken).
    public struct StreamNotContiguous: Error, CustomStringConvertible {
        public var user: Int64
        public var from: Int64
        public var through: Int64
        public var read: Int
        public var description: String {
            "stream \(user): read \(read) events for versions \(from)...\(through)"
        }
    }

    private func apply(
        _ deliveries: [RecordedEvent],
        user: Int64,
        on connection: PostgresConnection,
        report: inout Report
    ) async throws {
        let head = try await calendars.lock(user: user, on: connection)
        var fresh = deliveries.filter { $0.version > head.version }.sorted { $0.version < $1.version }
        guard let last = fresh.last?.version else { return }
        let contiguous = fresh.enumerated().allSatisfy { $0.element.version == head.version + 1 + Int64($0.offset) }
        if !contiguous {
            // Duplicates inside the batch or a gap: the store is the authority for the range.
            fresh = try await store.readStream(user, from: head.version + 1, through: last, on: connection)
            report.gapEventsRead += fresh.count
        }
        try await project(fresh, user: user, head: head, on: connection, report: &report)
    }

    /// Projects `fresh`, the events `head.version + 1 ...` of `user` in order, on the locked row.
    func project(
        _ fresh: [RecordedEvent],
        user: Int64,
        head: CalendarStore.Head,
        on connection: PostgresConnection,
        report: inout Report
    ) async throws {
        guard !fresh.isEmpty else { return }
        let batch = try fresh.map { (version: $0.version, event: try EventCoding.decode(type: $0.type, data: $0.data)) }
        let touched = CalendarProjection.touchedTodoIDs(batch.map(\.event))
        let current = try await calendars.entries(user: user, ids: touched, on: connection)
        let changes = CalendarProjection.apply(
            batch,
            current: current,
            settings: head.settings,
            appliedVersion: head.version
        )
        let rerender = changes.timeZoneChanged && changes.settings.timeZone != head.settings.timeZone
        if rerender, let limit = inlineRerenderLimit,
            try await calendars.liveEntryCount(user: user, on: connection) > limit
        {
            try await calendars.deferRerender(user: user, version: changes.version, on: connection)
            report.deferred[user] = changes.version
            return
        }
        try await calendars.write(changes.entries.values, user: user, on: connection)
        report.entriesWritten += changes.entries.count
        if rerender {
            report.entriesWritten += try await calendars.rerenderAll(
                user: user,
                settings: changes.settings,
                version: changes.version,
                on: connection
            )
        }
        try await calendars.advance(user: user, to: changes.version, settings: changes.settings, on: connection)
        report.eventsApplied += batch.count
        report.versions[user] = changes.version
    }
}
