import Domain
import EventStore
public import Logging
public import NIOCore
public import PostgresNIO

/// The calendar projection's storage: `calendars` (one row per user) and `calendar_entries`
/// (one row per todo, with its fragments).
public struct CalendarStore: Sendable {
    public let logger: Logger
    /// Whether the projection's statements go as named prepared statements (`EventStore.preparedStatements`).
    public let preparedStatements: Bool

    public init(logger: Logger, preparedStatements: Bool) {
        self.logger = logger
        self.preparedStatements = preparedStatements
    }

    /// A calendar's row: how far it is and what it is called.
    public struct Head: Sendable, Hashable {
        public var userID: Int64
        public var version: Int64
        public var generation: Int
        public var settings: CalendarSettings
        /// Seconds since the epoch of the last projection write (for Last-Modified).
        public var updatedAt: Int64
    }

    /// The number of projected calendars (`calendars` rows).
    public func count(on connection: PostgresConnection) async throws -> Int {
        for try await count in try await connection.run("SELECT count(*) FROM calendars", logger: logger)
            .decode(Int64.self)
        {
            return Int(count)
        }
        return 0
    }

    /// Locks the user's calendar row for this transaction, creating it at version 0.
    ///
    /// One round trip when the row exists (`SELECT … FOR UPDATE`, which writes no new row
    /// version); otherwise a second, an upsert whose no-op update locks and returns the row that
    /// another transaction may have inserted meanwhile (it waits for that insert to commit, then
    /// sees it, where a `FOR UPDATE` in one statement's snapshot would not).
    public func lock(user: Int64, on connection: PostgresConnection) async throws -> Head {
        if let head = try await head(user: user, on: connection, lock: true) { return head }
        let query: PostgresQuery = """
            INSERT INTO calendars (user_id) VALUES (\(user))
            ON CONFLICT (user_id) DO UPDATE SET user_id = EXCLUDED.user_id
            RETURNING \(unescaped: Self.headColumns)
            """
        guard let head = try await head(user: user, rows: try await connection.run(query, logger: logger)) else {
            preconditionFailure("an upsert returned no row")
        }
        return head
    }

    /// The columns `head(user:rows:)` decodes.
    static let headColumns = "version, generation, name, time_zone, extract(epoch FROM updated_at)::int8"

    public func head(user: Int64, on connection: PostgresConnection, lock: Bool = false) async throws -> Head? {
        let rows =
            lock
            ? try await connection.run(
                LockCalendarHead.query(user: user),
                as: LockCalendarHead.self,
                prepared: preparedStatements,
                logger: logger
            )
            : try await connection.run(
                CalendarHead.query(user: user),
                as: CalendarHead.self,
                prepared: preparedStatements,
                logger: logger
            )
        return try await head(user: user, rows: rows)
    }

    private func head(user: Int64, rows: some AsyncSequence<PostgresRow, any Error>) async throws -> Head? {
        let rows = rows.decode((Int64, Int32, String, String, Int64).self)
        for try await (version, generation, name, zone, updatedAt) in rows {
            return Head(
                userID: user,
                version: version,
                generation: Int(generation),
                settings: CalendarSettings(name: name, timeZone: zone),
                updatedAt: updatedAt
            )
        }
        return nil
    }

    /// The projected state of the given todos (fragments are not loaded: `apply` re-renders).
    public func entries(user: Int64, ids: some Collection<Int>, on connection: PostgresConnection) async throws
        -> [Int: CalendarEntry]
    {
        guard !ids.isEmpty else { return [:] }
        var entries: [Int: CalendarEntry] = [:]
        let rows = try await connection.run(
            CalendarEntries.query(user: user, ids: ids.map(Int64.init)),
            as: CalendarEntries.self,
            prepared: preparedStatements,
            logger: logger
        )
        let decoded = rows.decode(
            (Int64, String, String, String, Bool, Int64?, String?, Int64, Int64, Int32, Bool, Int64).self
        )
        for try await (
            id, uid, title, description, completed, completedAt, deadline, created, updated, revision,
            deleted, changed
        ) in decoded {
            let todo = try TodoTable.todo(
                (id, uid, title, description, completed, completedAt, deadline, created, updated, revision)
            )
            entries[todo.id] = CalendarEntry(
                todo: todo,
                deleted: deleted,
                event: nil,
                task: nil,
                changedVersion: changed
            )
        }
        return entries
    }

    /// Upserts entries (state and fragments); a deferred re-render's fragments of these entries
    /// are dropped (they are older).
    public func write(_ entries: some Collection<CalendarEntry>, user: Int64, on connection: PostgresConnection)
        async throws
    {
        guard !entries.isEmpty else { return }
        try await connection.run(
            WriteCalendarEntries.query(Array(entries), user: user),
            as: WriteCalendarEntries.self,
            prepared: preparedStatements,
            logger: logger
        )
    }

    /// Moves the calendar row to `version` with `settings`, and signals the change
    /// (`user:version:generation` on `Channels.calendars`, delivered at commit), in one round trip.
    public func advance(
        user: Int64,
        to version: Int64,
        settings: CalendarSettings,
        generation: Int? = nil,
        on connection: PostgresConnection
    ) async throws {
        let rows = try await connection.run(
            AdvanceCalendar.query(
                user: user,
                version: version,
                settings: settings,
                generation: generation.map(Int32.init) ?? -1
            ),
            as: AdvanceCalendar.self,
            prepared: preparedStatements,
            logger: logger
        )
        for try await _ in rows {}
    }

    /// Re-renders every live entry of the user (a time-zone change), streaming in chunks.
    public func rerenderAll(user: Int64, settings: CalendarSettings, version: Int64, on connection: PostgresConnection)
        async throws -> Int
    {
        let renderer = FragmentRenderer(timeZoneIdentifier: settings.timeZone)
        var ids: [Int] = []
        for try await id in try await connection.run(
            "SELECT todo_id FROM calendar_entries WHERE user_id = \(user) AND NOT deleted ORDER BY todo_id",
            logger: logger
        ).decode(Int64.self) {
            ids.append(Int(id))
        }
        var written = 0
        for chunk in stride(from: 0, to: ids.count, by: 2000) {
            let slice = ids[chunk..<min(chunk + 2000, ids.count)]
            let current = try await entries(user: user, ids: slice, on: connection)
            let rendered = current.values.map { renderer.render($0.todo, changedVersion: version) }
            try await write(rendered, user: user, on: connection)
            written += rendered.count
        }
        return written
    }

    /// Replaces the whole projection of a user with `entries` at `version` (a full rebuild), as
    /// a new generation so caches reload instead of applying deltas.
    public func replace(
        user: Int64,
        with entries: [CalendarEntry],
        settings: CalendarSettings,
        version: Int64,
        on connection: PostgresConnection
    ) async throws {
        let head = try await lock(user: user, on: connection)
        try await connection.run("DELETE FROM calendar_entries WHERE user_id = \(user)", logger: logger)
        for chunk in stride(from: 0, to: entries.count, by: 2000) {
            try await write(entries[chunk..<min(chunk + 2000, entries.count)], user: user, on: connection)
        }
        try await advance(user: user, to: version, settings: settings, generation: head.generation + 1, on: connection)
    }

    /// Which entries a feed read returns.
    public enum FeedSelection: Sendable, Hashable {
        /// Every live entry, both fragments (to cache every variant).
        case live
        /// Every live entry, only the fragment `variant` needs (to stream one feed).
        case variant(FeedVariant)
        /// Entries changed after a version, deleted ones included (to refresh a cache by delta).
        case changed(after: Int64)
    }

    /// One entry as a feed reader needs it.
    public struct FeedRow: Sendable {
        public var todoID: Int
        public var deleted: Bool
        public var completed: Bool
        public var event: ByteBuffer?
        public var task: ByteBuffer?

        /// This entry's fragment in `variant`, if it appears there.
        public func fragment(_ variant: FeedVariant) -> ByteBuffer? {
            deleted ? nil : variant.fragment(event: event, task: task, completed: completed)
        }
    }

    /// A calendar's row and its entries, from one statement (one snapshot), in todo-id order.
    /// The only reader of `calendar_entries` for feeds: the cache, the streamer and the full
    /// regeneration's comparison all use it. Iterate once, from one task.
    public struct FeedRead {
        public let head: Head
        private var pending: FeedRow?
        private var iterator: PostgresRowSequence.AsyncIterator

        fileprivate init(head: Head, first: FeedRow?, iterator: PostgresRowSequence.AsyncIterator) {
            self.head = head
            self.pending = first
            self.iterator = iterator
        }

        /// The next entry; nil at the end.
        public mutating func next() async throws -> FeedRow? {
            if let row = pending {
                pending = nil
                return row
            }
            while let row = try await iterator.next() {
                if let entry = CalendarStore.feedRow(try row.decode(FeedColumns.self)) { return entry }
            }
            return nil
        }
    }

    fileprivate typealias FeedColumns = (
        Int64, Int32, String, String, Int64, Int64?, Bool?, Bool?, ByteBuffer?, ByteBuffer?
    )

    private func feedQuery(user: Int64, selection: FeedSelection, page: (after: Int, limit: Int)? = nil)
        -> PostgresQuery
    {
        // A deferred re-render's fragments count once the calendar has reached their version.
        let event = "CASE WHEN e.next_version <= c.version THEN e.next_event ELSE e.event END"
        let task = "CASE WHEN e.next_version <= c.version THEN e.next_task ELSE e.task END"
        let (filter, eventColumn, taskColumn): (String, String, String) =
            switch selection {
            case .live: ("NOT e.deleted", event, task)
            case .variant(.tasks): ("NOT e.deleted", "NULL::bytea", task)
            case .variant: ("NOT e.deleted", event, "NULL::bytea")
            case .changed(let version): ("e.changed_version > \(version)", event, task)
            }
        let (after, limit) = page.map { (Int64($0.after), "\($0.limit)") } ?? (0, "ALL")
        return """
            SELECT c.version, c.generation, c.name, c.time_zone, extract(epoch FROM c.updated_at)::int8,
                   e.todo_id, e.deleted, e.completed, \(unescaped: eventColumn), \(unescaped: taskColumn)
            FROM calendars c LEFT JOIN calendar_entries e
                ON e.user_id = c.user_id AND e.todo_id > \(after) AND \(unescaped: filter)
            WHERE c.user_id = \(user)
            ORDER BY e.todo_id
            LIMIT \(unescaped: limit)
            """
    }

    /// One page of a feed read: the calendar row and at most `limit` entries after `after`,
    /// read whole so the pooled connection is free again before the caller writes them to a
    /// (possibly slow) client. Pages of one feed may come from different versions: compare the
    /// heads.
    public func readFeedPage(
        user: Int64,
        variant: FeedVariant,
        after: Int,
        limit: Int,
        client: PostgresClient
    ) async throws -> (head: Head, rows: [FeedRow])? {
        let query = feedQuery(user: user, selection: .variant(variant), page: (after, limit))
        return try await client.leased { connection in
            guard var read = try await open(user: user, rows: try await connection.run(query, logger: logger)) else {
                return nil
            }
            var rows: [FeedRow] = []
            rows.reserveCapacity(limit)
            while let row = try await read.next() { rows.append(row) }
            return (read.head, rows)
        }
    }

    /// Opens a feed read on `connection` (a pooled one held while the rows are read, or the
    /// caller's transaction); nil when the user has no calendar row yet.
    public func readFeed(user: Int64, selection: FeedSelection, on connection: PostgresConnection) async throws
        -> FeedRead?
    {
        try await open(
            user: user,
            rows: try await connection.run(feedQuery(user: user, selection: selection), logger: logger)
        )
    }

    private func open(user: Int64, rows: PostgresRowSequence) async throws -> FeedRead? {
        var iterator = rows.makeAsyncIterator()
        guard let firstRow = try await iterator.next() else { return nil }
        let columns = try firstRow.decode(FeedColumns.self)
        let head = Head(
            userID: user,
            version: columns.0,
            generation: Int(columns.1),
            settings: CalendarSettings(name: columns.2, timeZone: columns.3),
            updatedAt: columns.4
        )
        return FeedRead(head: head, first: Self.feedRow(columns), iterator: iterator)
    }

    /// The entry of a joined row; nil for the row of a calendar without entries.
    fileprivate static func feedRow(_ columns: FeedColumns) -> FeedRow? {
        guard let id = columns.5 else { return nil }
        return FeedRow(
            todoID: Int(id),
            deleted: columns.6 ?? false,
            completed: columns.7 ?? false,
            event: columns.8,
            task: columns.9
        )
    }
}

/// A calendar's row.
enum CalendarHead: NamedStatement {
    static let name = "almanac_calendar_head"
    static let sql = query(user: 0).sql

    static func query(user: Int64) -> PostgresQuery {
        "SELECT \(unescaped: CalendarStore.headColumns) FROM calendars WHERE user_id = \(user)"
    }
}

/// A calendar's row, locked by a projection batch.
enum LockCalendarHead: NamedStatement {
    static let name = "almanac_lock_calendar_head"
    static let sql = query(user: 0).sql

    static func query(user: Int64) -> PostgresQuery {
        "SELECT \(unescaped: CalendarStore.headColumns) FROM calendars WHERE user_id = \(user) FOR UPDATE"
    }
}

/// The projected state of some of a user's todos.
enum CalendarEntries: NamedStatement {
    static let name = "almanac_calendar_entries"
    static let sql = query(user: 0, ids: []).sql

    static func query(user: Int64, ids: [Int64]) -> PostgresQuery {
        """
        SELECT \(unescaped: TodoTable.columns), deleted, changed_version FROM calendar_entries
        WHERE user_id = \(user) AND todo_id = ANY(\(ids)::int8[])
        """
    }
}

/// Entries upserted with their fragments; a deferred re-render's fragments of them are dropped.
enum WriteCalendarEntries: NamedStatement {
    static let name = "almanac_write_calendar_entries"
    static let sql = query([], user: 0).sql

    static func query(_ list: [CalendarEntry], user: Int64) -> PostgresQuery {
        let noTime = Int64.min
        // Fragments are UTF-8 text; they travel as text[] ('' = NULL) and are stored as bytea.
        return """
            INSERT INTO calendar_entries (user_id, todo_id, uid, title, description, completed, completed_at,
                deadline_at, created_at, updated_at, revision, deleted, event, task, changed_version)
            SELECT \(user), id, uid, title, descr, done, NULLIF(done_at, \(noTime)), NULLIF(deadline, ''), created,
                   updated, rev, gone, convert_to(NULLIF(ev, ''), 'UTF8'), convert_to(NULLIF(tk, ''), 'UTF8'), changed
            FROM unnest(\(list.map { Int64($0.todo.id) })::int8[], \(list.map(\.todo.uid))::text[],
                        \(list.map(\.todo.title))::text[], \(list.map(\.todo.description))::text[],
                        \(list.map(\.todo.completed))::bool[],
                        \(list.map { $0.todo.completedAt?.microseconds ?? noTime })::int8[],
                        \(list.map { $0.todo.deadline?.raw ?? "" })::text[],
                        \(list.map(\.todo.createdAt.microseconds))::int8[],
                        \(list.map(\.todo.updatedAt.microseconds))::int8[],
                        \(list.map { Int32($0.todo.revision) })::int4[], \(list.map(\.deleted))::bool[],
                        \(list.map { $0.event.map { String(decoding: $0, as: UTF8.self) } ?? "" })::text[],
                        \(list.map { $0.task.map { String(decoding: $0, as: UTF8.self) } ?? "" })::text[],
                        \(list.map(\.changedVersion))::int8[])
                 AS x(id, uid, title, descr, done, done_at, deadline, created, updated, rev, gone, ev, tk, changed)
            ON CONFLICT (user_id, todo_id) DO UPDATE SET
                uid = EXCLUDED.uid, title = EXCLUDED.title, description = EXCLUDED.description,
                completed = EXCLUDED.completed, completed_at = EXCLUDED.completed_at,
                deadline_at = EXCLUDED.deadline_at, created_at = EXCLUDED.created_at,
                updated_at = EXCLUDED.updated_at, revision = EXCLUDED.revision, deleted = EXCLUDED.deleted,
                event = EXCLUDED.event, task = EXCLUDED.task, changed_version = EXCLUDED.changed_version,
                next_event = NULL, next_task = NULL, next_version = NULL
            """
    }
}

/// A calendar row moved to a version (a generation of -1 keeps the row's), and the change
/// signalled (`user:version:generation` on `Channels.calendars`, delivered at commit).
enum AdvanceCalendar: NamedStatement {
    static let name = "almanac_advance_calendar"
    static let sql = query(user: 0, version: 0, settings: CalendarSettings(name: "", timeZone: ""), generation: -1).sql

    static func query(user: Int64, version: Int64, settings: CalendarSettings, generation: Int32) -> PostgresQuery {
        """
        WITH moved AS (
            UPDATE calendars SET version = \(version), name = \(settings.name), time_zone = \(settings.timeZone),
                generation = COALESCE(NULLIF(\(generation), -1), generation), updated_at = now()
            WHERE user_id = \(user) RETURNING generation)
        SELECT moved.generation FROM moved
        CROSS JOIN LATERAL (SELECT pg_notify(\(Channels.calendars), \("\(user):\(version):") || moved.generation)) AS notified
        """
    }
}
