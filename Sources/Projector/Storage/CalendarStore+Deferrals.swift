import Domain
import EventStore
public import PostgresNIO

/// `calendar_deferrals` (users whose calendar waits for a re-render outside the projector's
/// shared transaction: a time-zone change of a large calendar) and the re-render's columns of
/// `calendar_entries` (`next_event`, `next_task`, `next_version`). Part of `CalendarStore`, the
/// owner of the projection's tables.
extension CalendarStore {
    /// What a projection batch needs first, in one round trip: its transaction's id (to find the
    /// rows it writes) and which of `users` have a deferred re-render pending (their events wait
    /// for the re-renderer).
    public func startBatch(among users: some Collection<Int64>, on connection: PostgresConnection) async throws
        -> (txid: UInt64, deferred: Set<Int64>)
    {
        let rows = try await connection.run(
            StartBatch.query(users: Array(users)),
            as: StartBatch.self,
            prepared: preparedStatements,
            logger: logger
        ).decode((String, [Int64]).self)
        for try await (txid, deferred) in rows {
            return (UInt64(txid) ?? 0, Set(deferred))
        }
        return (0, [])
    }

    /// Every user with a deferred re-render pending, oldest first, at most `limit`.
    public func deferredUsers(limit: Int, client: PostgresClient) async throws -> [Int64] {
        var users: [Int64] = []
        for try await user in try await client.run(
            "SELECT user_id FROM calendar_deferrals GROUP BY user_id ORDER BY min(id) LIMIT \(limit)",
            logger: logger
        ).decode(Int64.self) {
            users.append(user)
        }
        return users
    }

    /// Records that `user`'s calendar must be brought to at least `version` by the re-renderer.
    public func deferRerender(user: Int64, version: Int64, on connection: PostgresConnection) async throws {
        try await connection.run(
            "INSERT INTO calendar_deferrals (user_id, version) VALUES (\(user), \(version))",
            logger: logger
        )
    }

    /// Forgets the deferrals of `user` up to `version` (what the re-renderer has reached).
    public func clearDeferrals(user: Int64, through version: Int64, on connection: PostgresConnection) async throws {
        try await connection.run(
            "DELETE FROM calendar_deferrals WHERE user_id = \(user) AND version <= \(version)",
            logger: logger
        )
    }

    /// How many live (not deleted) entries the user's calendar has.
    public func liveEntryCount(user: Int64, on connection: PostgresConnection) async throws -> Int {
        for try await count in try await connection.run(
            "SELECT count(*) FROM calendar_entries WHERE user_id = \(user) AND NOT deleted",
            logger: logger
        ).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    /// The ids of the user's live entries after `after`, in order, at most `limit`.
    public func liveEntryIDs(user: Int64, after: Int, limit: Int, on connection: PostgresConnection) async throws
        -> [Int]
    {
        var ids: [Int] = []
        for try await id in try await connection.run(
            """
            SELECT todo_id FROM calendar_entries WHERE user_id = \(user) AND NOT deleted AND todo_id > \(Int64(after))
            ORDER BY todo_id LIMIT \(limit)
            """,
            logger: logger
        ).decode(Int64.self) {
            ids.append(Int(id))
        }
        return ids
    }

    /// Writes re-rendered fragments beside the served ones, as of stream version `version`: feed
    /// readers take them once the calendar reaches `version`.
    public func writeNext(
        _ entries: some Collection<CalendarEntry>,
        version: Int64,
        user: Int64,
        on connection: PostgresConnection
    ) async throws {
        guard !entries.isEmpty else { return }
        let list = Array(entries)
        try await connection.run(
            """
            UPDATE calendar_entries e SET next_event = convert_to(NULLIF(x.ev, ''), 'UTF8'),
                next_task = convert_to(NULLIF(x.tk, ''), 'UTF8'), next_version = \(version)
            FROM unnest(\(list.map { Int64($0.todo.id) })::int8[],
                        \(list.map { $0.event.map { String(decoding: $0, as: UTF8.self) } ?? "" })::text[],
                        \(list.map { $0.task.map { String(decoding: $0, as: UTF8.self) } ?? "" })::text[])
                 AS x(id, ev, tk)
            WHERE e.user_id = \(user) AND e.todo_id = x.id
            """,
            logger: logger
        )
    }

    /// Folds up to `limit` of the user's re-rendered entries into their served fragments (those
    /// the calendar has reached; the feed reads the same bytes before and after), and drops
    /// re-renders the calendar has not reached (an interrupted one). Returns how many entries it
    /// touched: 0 when none is left. One short statement, so repeat it until 0. Only the holder of
    /// the user's re-render lock may call it (it would drop another's re-render in progress).
    public func foldNext(user: Int64, limit: Int, on connection: PostgresConnection) async throws -> Int {
        var folded = 0
        for try await _ in try await connection.run(
            """
            WITH due AS (
                SELECT todo_id FROM calendar_entries
                WHERE user_id = \(user) AND next_version IS NOT NULL ORDER BY todo_id LIMIT \(limit)
            )
            UPDATE calendar_entries e SET
                event = CASE WHEN e.next_version <= c.version THEN e.next_event ELSE e.event END,
                task = CASE WHEN e.next_version <= c.version THEN e.next_task ELSE e.task END,
                changed_version = CASE WHEN e.next_version <= c.version
                    THEN greatest(e.changed_version, e.next_version) ELSE e.changed_version END,
                next_event = NULL, next_task = NULL, next_version = NULL
            FROM due, calendars c
            WHERE e.user_id = \(user) AND e.todo_id = due.todo_id AND c.user_id = \(user)
            RETURNING e.todo_id
            """,
            logger: logger
        ) {
            folded += 1
        }
        return folded
    }
}

/// A projection batch's transaction id and which of its users have a deferred re-render pending.
enum StartBatch: NamedStatement {
    static let name = "almanac_start_batch"
    static let sql = query(users: []).sql

    static func query(users: [Int64]) -> PostgresQuery {
        """
        SELECT pg_current_xact_id()::text,
               ARRAY(SELECT DISTINCT user_id FROM calendar_deferrals WHERE user_id = ANY(\(users)::int8[]))
        """
    }
}
