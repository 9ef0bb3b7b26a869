public import Domain
public import EventStore
import Logging
import NIOCore
import PostgresNIO

/// Full regeneration from events alone: `rebuild` replaces a user's projection (as a new
/// generation); `regenerate` computes the feeds without writing and compares them with the
/// incremental projection (the `full` job).
public struct CalendarRebuilder: Sendable {
    public let store: EventStore
    public let calendars: CalendarStore

    public init(store: EventStore) {
        self.store = store
        self.calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
    }

    /// Folds the user's stream, streaming the events from the server.
    func fold(user: Int64, through version: Int64 = .max, on connection: PostgresConnection, progress: (Int64) -> Void)
        async throws -> UserCalendar
    {
        var state = UserCalendar()
        for try await event in try await store.streamEventPayloads(user, through: version, on: connection) {
            state.apply(try EventCoding.decode(type: event.type, data: event.data), version: event.version)
            if event.version % 10_000 == 0 { progress(event.version) }
        }
        return state
    }

    /// Replaces the user's projection with a regeneration from all their events.
    @discardableResult
    public func rebuild(user: Int64, progress: @escaping (Int64) -> Void = { _ in }) async throws -> UserCalendar {
        try await store.withTransaction { connection in
            _ = try await calendars.lock(user: user, on: connection)
            let state = try await fold(user: user, on: connection, progress: progress)
            try await calendars.replace(
                user: user,
                with: FullRegeneration.entries(state),
                settings: CalendarSettings(name: state.name, timeZone: state.timeZone),
                version: state.version,
                on: connection
            )
            return state
        }
    }

    /// The outcome of a regeneration compared with the incremental projection.
    public struct Comparison: Sendable {
        public var version: Int64
        public var full: [UInt8]
        public var incremental: [UInt8]
        public var regenerationSeconds: Double
        public var matches: Bool { full == incremental }
    }

    /// Regenerates `variant` at the projection's current version, in one consistent snapshot.
    public func compare(user: Int64, variant: FeedVariant) async throws -> Comparison? {
        try await store.withTransaction { connection in
            try await connection.run(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
                logger: store.logger
            )
            guard var read = try await calendars.readFeed(user: user, selection: .variant(variant), on: connection)
            else { return nil }
            // One statement at a time on a connection: the entries are read before the fold.
            var fragments: [[UInt8]] = []
            while let row = try await read.next() {
                if let bytes = row.fragment(variant) { fragments.append(Array(bytes.readableBytesView)) }
            }
            let head = read.head
            let clock = ContinuousClock()
            let start = clock.now
            let state = try await fold(user: user, through: head.version, on: connection, progress: { _ in })
            let full = FullRegeneration.feed(state, variant: variant)
            let elapsed = clock.now - start
            let incremental = FeedAssembler.assemble(name: head.settings.name, fragments: fragments)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            return Comparison(version: head.version, full: full, incremental: incremental, regenerationSeconds: seconds)
        }
    }
}
