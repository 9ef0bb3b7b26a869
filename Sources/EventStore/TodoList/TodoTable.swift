public import Domain
public import Logging
public import PostgresNIO

/// The `todos` table: the current state of every todo, an inline projection written in the same
/// transaction as the events (so the todo list endpoints read their own writes).
public struct TodoTable: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// `users` keeps the time zone and the last todo id this inline projection folds.
    public let users: UserTable
    /// Whether its statements go as named prepared statements (`EventStore.preparedStatements`).
    public let preparedStatements: Bool

    public init(client: PostgresClient, logger: Logger, preparedStatements: Bool) {
        self.client = client
        self.logger = logger
        self.preparedStatements = preparedStatements
        self.users = UserTable(client: client, logger: logger, preparedStatements: preparedStatements)
    }

    /// The columns `todo(_:)` decodes, in order (the calendar entries table has the same ones).
    public static let columns = """
        todo_id, uid, title, description, completed, completed_at, deadline_at, created_at, updated_at, revision
        """

    /// A row of `columns`, decoded.
    public typealias Columns = (Int64, String, String, String, Bool, Int64?, String?, Int64, Int64, Int32)

    /// Filters of `GET /todos`.
    public struct Filter: Sendable, Hashable {
        public var completed: Bool?
        /// Only todos due at most this many days from now (overdue included).
        public var windowDays: Int?

        public init(completed: Bool? = nil, windowDays: Int? = nil) {
            self.completed = completed
            self.windowDays = windowDays
        }
    }

    /// The todos among `ids` that exist.
    public func load(user: Int64, ids: [Int], on connection: PostgresConnection) async throws -> [Int: Todo] {
        guard !ids.isEmpty else { return [:] }
        var todos: [Int: Todo] = [:]
        let rows = try await connection.run(
            LoadTodos.query(user: user, ids: ids.map(Int64.init)),
            as: LoadTodos.self,
            prepared: preparedStatements,
            logger: logger
        )
        for try await row in rows {
            let todo = try Self.todo(row)
            todos[todo.id] = todo
        }
        return todos
    }

    /// A page of the user's todos in id order: at most `limit` with ids after `after`, read
    /// whole so the pooled connection is released before the caller writes them to a client
    /// (a slow reader must never hold a database connection). A window counts naive deadlines
    /// in `timeZone` (the user's).
    public func page(user: Int64, filter: Filter, timeZone: String = "UTC", after: Int = 0, limit: Int = 1000)
        async throws -> [Todo]
    {
        var sql = "SELECT \(Self.columns) FROM todos WHERE user_id = $1 AND todo_id > $2"
        var binds = PostgresBindings()
        binds.append(user)
        binds.append(Int64(after))
        if let completed = filter.completed {
            binds.append(completed)
            sql += " AND completed = $\(binds.count)"
        }
        if let days = filter.windowDays {
            binds.append(timeZone)
            binds.append(Int32(days))
            sql += """
                 AND COALESCE(deadline_utc, deadline_local AT TIME ZONE $\(binds.count - 1))
                     <= now() + make_interval(days => $\(binds.count))
                """
        }
        binds.append(Int64(limit))
        sql += " ORDER BY todo_id LIMIT $\(binds.count)"
        let query = PostgresQuery(unsafeSQL: sql, binds: binds)
        return try await client.leased { connection in
            var todos: [Todo] = []
            todos.reserveCapacity(limit)
            for try await row in try await connection.run(query, logger: logger) { todos.append(try Self.todo(row)) }
            return todos
        }
    }

    /// Decodes a row selected with `columns`.
    public static func todo(_ row: PostgresRow) throws -> Todo {
        try todo(try row.decode(Columns.self))
    }

    /// The todo of decoded `columns`.
    public static func todo(_ columns: Columns) throws -> Todo {
        let (id, uid, title, description, completed, completedAt, deadline, createdAt, updatedAt, revision) = columns
        var todo = Todo(
            created: TodoCreated(
                todoID: Int(id),
                uid: uid,
                title: title,
                description: description,
                completed: completed,
                deadline: try deadline.map { try Deadline(parsing: $0) },
                at: Timestamp(microseconds: createdAt)
            )
        )
        todo.completedAt = completedAt.map(Timestamp.init(microseconds:))
        todo.updatedAt = Timestamp(microseconds: updatedAt)
        todo.revision = Int(revision)
        return todo
    }

    /// Todos a command read in its transaction, after locking the user's stream (`load(user:ids:into:on:)`):
    /// the ids looked up and the rows found. The inline projection starts from them instead of
    /// reading them again; they are current because every write to a user's todos holds that lock.
    public struct Read: Sendable {
        /// Every id looked up, found or not.
        public private(set) var looked: Set<Int> = []
        /// The rows found, by id.
        public private(set) var todos: [Int: Todo] = [:]

        public init() {}

        mutating func record(ids: [Int], found: [Int: Todo]) {
            looked.formUnion(ids)
            todos.merge(found) { _, new in new }
        }
    }

    /// Like `load(user:ids:on:)`, remembering what was read in `read` for the inline projection
    /// of the same transaction.
    public func load(user: Int64, ids: [Int], into read: inout Read, on connection: PostgresConnection) async throws
        -> [Int: Todo]
    {
        let found = try await load(user: user, ids: ids, on: connection)
        read.record(ids: ids, found: found)
        return found
    }

    /// Applies a user's freshly appended events to `todos` and `users` (the inline projection).
    /// `read` holds the todos the command read in this transaction: only the others are loaded.
    public func apply(_ events: [TodoEvent], user: Int64, read: Read = Read(), on connection: PostgresConnection)
        async throws
    {
        // A todo the batch creates before anything else touches it has no row yet (ids are never
        // reused), and one the command read is known: only the others are read.
        var touched = Set<Int>()
        var created = Set<Int>()
        for event in events {
            for id in event.todoIDs where touched.insert(id).inserted {
                if case .todoCreated = event { created.insert(id) }
            }
        }
        var todos = read.todos.filter { touched.contains($0.key) }
        let unread = touched.subtracting(created).subtracting(read.looked)
        for (id, todo) in try await load(user: user, ids: Array(unread), on: connection) { todos[id] = todo }
        var deleted = Set<Int>()
        var timeZone: String?
        for event in events {
            switch event {
            case .userRegistered(let e): timeZone = e.timeZone
            case .timeZoneChanged(let e): timeZone = e.timeZone
            case .todoCreated(let e):
                todos[e.todoID] = Todo(created: e)
                deleted.remove(e.todoID)
            case .todoDeleted(let e):
                todos[e.todoID] = nil
                deleted.insert(e.todoID)
            case .todoUpdated, .todoCompleted, .todoReopened, .todosCompleted:
                for id in event.todoIDs { todos[id]?.apply(targeted: event) }
            }
        }
        if let timeZone {
            try await users.setTimeZone(timeZone, user: user, on: connection)
        }
        if !deleted.isEmpty {
            try await connection.run(
                "DELETE FROM todos WHERE user_id = \(user) AND todo_id = ANY(\(deleted.map(Int64.init))::int8[])",
                logger: logger
            )
        }
        let changed = todos.values.filter { touched.contains($0.id) }
        if !changed.isEmpty {
            try await upsert(changed, user: user, on: connection)
        }
        // Only a create can raise the last todo id.
        if let last = created.max() {
            try await users.raiseLastTodoID(to: last, user: user, on: connection)
        }
    }

    private func upsert(_ todos: [Todo], user: Int64, on connection: PostgresConnection) async throws {
        try await connection.run(
            UpsertTodos.query(todos, user: user),
            as: UpsertTodos.self,
            prepared: preparedStatements,
            logger: logger
        )
    }

    /// A naive deadline as a PostgreSQL timestamp literal; empty when the deadline has an offset.
    static func localDeadline(_ deadline: Deadline?) -> String {
        guard let deadline, deadline.utcOffsetSeconds == nil else { return "" }
        let d = deadline.date
        let t = deadline.time ?? LocalTime(hour: 0, minute: 0, second: 0)
        // Zero-padded: PostgreSQL reads a short year such as "50" as 2050, and "1-1-2" as a
        // two-digit year of its own choosing.
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let micros = pad(deadline.fractionMicroseconds, 6)
        return
            "\(pad(d.year, 4))-\(pad(d.month, 2))-\(pad(d.day, 2)) \(pad(t.hour, 2)):\(pad(t.minute, 2)):\(pad(t.second, 2)).\(micros)"
    }
}

/// Todos of a user read by id (an edit, a completion, a delete).
enum LoadTodos: NamedStatement {
    static let name = "almanac_load_todos"
    static let sql = query(user: 0, ids: []).sql

    static func query(user: Int64, ids: [Int64]) -> PostgresQuery {
        """
        SELECT \(unescaped: TodoTable.columns) FROM todos
        WHERE user_id = \(user) AND todo_id = ANY(\(ids)::int8[])
        """
    }
}

/// Todo rows written whole (the inline projection of every command that changes todos).
enum UpsertTodos: NamedStatement {
    static let name = "almanac_upsert_todos"
    static let sql = query([], user: 0).sql

    static func query(_ todos: [Todo], user: Int64) -> PostgresQuery {
        // NULLs travel as sentinels because array elements bind without optionals.
        let noTime = Int64.min
        return """
            INSERT INTO todos (user_id, todo_id, uid, title, description, completed, completed_at, deadline_at,
                               deadline_local, deadline_utc, created_at, updated_at, revision)
            SELECT \(user), id, uid, title, descr, done, NULLIF(done_at, \(noTime)), NULLIF(deadline, ''),
                   NULLIF(local, '')::timestamp, NULLIF(utc, '')::timestamptz, created, updated, rev
            FROM unnest(\(todos.map { Int64($0.id) })::int8[], \(todos.map(\.uid))::text[], \(todos.map(\.title))::text[],
                        \(todos.map(\.description))::text[], \(todos.map(\.completed))::bool[],
                        \(todos.map { $0.completedAt?.microseconds ?? noTime })::int8[],
                        \(todos.map { $0.deadline?.raw ?? "" })::text[],
                        \(todos.map { TodoTable.localDeadline($0.deadline) })::text[],
                        \(todos.map { $0.deadline?.absoluteInstant?.iso8601 ?? "" })::text[],
                        \(todos.map(\.createdAt.microseconds))::int8[], \(todos.map(\.updatedAt.microseconds))::int8[],
                        \(todos.map { Int32($0.revision) })::int4[])
                 AS x(id, uid, title, descr, done, done_at, deadline, local, utc, created, updated, rev)
            ON CONFLICT (user_id, todo_id) DO UPDATE SET
                title = EXCLUDED.title, description = EXCLUDED.description, completed = EXCLUDED.completed,
                completed_at = EXCLUDED.completed_at, deadline_at = EXCLUDED.deadline_at,
                deadline_local = EXCLUDED.deadline_local, deadline_utc = EXCLUDED.deadline_utc,
                updated_at = EXCLUDED.updated_at, revision = EXCLUDED.revision
            """
    }
}
