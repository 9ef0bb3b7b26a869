import Domain
public import EventStore
import Logging
import PostgresNIO

/// Applies delivered events to the calendar projection in PostgreSQL.
///
/// Deliveries may be duplicated, out of order or have gaps (a standard SQS queue, a Kafka
/// replay): per user, only versions after the applied one count, and a gap is filled from the
/// store, so the effect is exactly once. Fragments, calendar versions and the caller's
/// checkpoint commit in one transaction.
public struct ProjectionWriter: Sendable {
    public let store: EventStore
    public let calendars: CalendarStore
    /// Test hook: called at each stage inside the transaction; throwing aborts it (a crash).
    public var faultInjection: (@Sendable (Stage) throws -> Void)?

    public enum Stage: Sendable, Hashable {
        case fragmentsWritten(user: Int64)
        case beforeCheckpoint
    }

    public init(store: EventStore) {
        self.store = store
        self.calendars = CalendarStore(logger: store.logger)
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
    }

    /// Applies `events` of any users; `checkpoint` is saved in the same transaction.
    @discardableResult
    public func apply(_ events: [RecordedEvent], checkpoint: (name: String, cursor: GlobalCursor)? = nil) async throws
        -> Report
    {
        let byUser = Dictionary(grouping: events, by: \.streamID)
        return try await store.withTransaction { connection in
            var report = Report()
            for try await txid in try await connection.run("SELECT pg_current_xact_id()::text", logger: store.logger)
                .decode(String.self)
            {
                report.txid = UInt64(txid) ?? 0
            }
            for user in byUser.keys.sorted() {
                try await apply(byUser[user]!, user: user, on: connection, report: &report)
                try faultInjection?(.fragmentsWritten(user: user))
            }
            try faultInjection?(.beforeCheckpoint)
            if let checkpoint {
                try await Checkpoints.save(checkpoint.name, checkpoint.cursor, on: connection, logger: store.logger)
            }
            return report
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
        let batch = try fresh.map { (version: $0.version, event: try EventCoding.decode(type: $0.type, data: $0.data)) }
        let touched = CalendarProjection.touchedTodoIDs(batch.map(\.event))
        let current = try await calendars.entries(user: user, ids: touched, on: connection)
        let changes = CalendarProjection.apply(
            batch,
            current: current,
            settings: head.settings,
            appliedVersion: head.version
        )
        try await calendars.write(changes.entries.values, user: user, on: connection)
        report.entriesWritten += changes.entries.count
        if changes.timeZoneChanged && changes.settings.timeZone != head.settings.timeZone {
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
