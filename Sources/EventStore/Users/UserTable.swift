public import Logging
public import NIOCore
public import PostgresNIO

/// The `users` table: accounts, their API key hashes, the time zone and the last todo id (both
/// folded from the user's events in the append transaction). The only place with its SQL.
public struct UserTable: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Whether its statements go as named prepared statements (`EventStore.preparedStatements`).
    public let preparedStatements: Bool

    public init(client: PostgresClient, logger: Logger, preparedStatements: Bool) {
        self.client = client
        self.logger = logger
        self.preparedStatements = preparedStatements
    }

    /// A user's id and unique name.
    public struct Row: Sendable, Hashable {
        public var id: Int64
        public var name: String

        public init(id: Int64, name: String) {
            self.id = id
            self.name = name
        }
    }

    /// A user with that name exists already.
    public struct NameTaken: Error, Sendable, CustomStringConvertible {
        public var name: String

        public init(name: String) {
            self.name = name
        }

        public var description: String { "a user named \(name.debugDescription) already exists" }
    }

    /// Inserts a user under a fresh id, inside the caller's transaction; throws `NameTaken`.
    public func insert(name: String, apiKeyHash: ByteBuffer, on connection: PostgresConnection) async throws -> Int64 {
        var id: Int64 = 0
        for try await next in try await connection.run("SELECT nextval('user_ids')", logger: logger).decode(
            Int64.self
        ) {
            id = next
        }
        do {
            try await connection.run(
                "INSERT INTO users (id, name, api_key_hash) VALUES (\(id), \(name), \(apiKeyHash))",
                logger: logger
            )
        } catch let error as PSQLError where error.sqlState == "23505" {
            throw NameTaken(name: name)
        }
        return id
    }

    /// The user whose API key hashes to `apiKeyHash`.
    public func user(apiKeyHash: ByteBuffer) async throws -> Row? {
        try await first("SELECT id, name FROM users WHERE api_key_hash = \(apiKeyHash)")
    }

    public func user(named name: String) async throws -> Row? {
        try await first("SELECT id, name FROM users WHERE name = \(name)")
    }

    public func count() async throws -> Int {
        for try await count in try await client.run("SELECT count(*) FROM users", logger: logger).decode(Int64.self) {
            return Int(count)
        }
        return 0
    }

    /// All users in id order.
    public func all() async throws -> [Row] {
        var users: [Row] = []
        for try await (id, name) in try await client.run("SELECT id, name FROM users ORDER BY id", logger: logger)
            .decode((Int64, String).self)
        {
            users.append(Row(id: id, name: name))
        }
        return users
    }

    /// The user's IANA time zone (`UTC` for an unknown user).
    public func timeZone(user: Int64, on connection: PostgresConnection? = nil) async throws -> String {
        let query: PostgresQuery = "SELECT time_zone FROM users WHERE id = \(user)"
        if let connection {
            for try await zone in try await connection.run(query, logger: logger).decode(String.self) { return zone }
        } else {
            for try await zone in try await client.run(query, logger: logger).decode(String.self) { return zone }
        }
        return "UTC"
    }

    /// The highest todo id the user ever had (ids are never reused).
    public func lastTodoID(user: Int64, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.run(
            LastTodoID.query(user: user),
            as: LastTodoID.self,
            prepared: preparedStatements,
            logger: logger
        )
        for try await last in rows.decode(Int64.self) { return Int(last) }
        return 0
    }

    /// Folds a time-zone change into the row (inline projection, caller's transaction).
    public func setTimeZone(_ zone: String, user: Int64, on connection: PostgresConnection) async throws {
        try await connection.run("UPDATE users SET time_zone = \(zone) WHERE id = \(user)", logger: logger)
    }

    /// Raises `last_todo_id` to at least `id` (inline projection, caller's transaction).
    public func raiseLastTodoID(to id: Int, user: Int64, on connection: PostgresConnection) async throws {
        try await connection.run(
            RaiseLastTodoID.query(to: Int64(id), user: user),
            as: RaiseLastTodoID.self,
            prepared: preparedStatements,
            logger: logger
        )
    }

    private func first(_ query: PostgresQuery) async throws -> Row? {
        for try await (id, name) in try await client.run(query, logger: logger).decode((Int64, String).self) {
            return Row(id: id, name: name)
        }
        return nil
    }
}

/// A user's last todo id, read by a create.
enum LastTodoID: NamedStatement {
    static let name = "almanac_last_todo_id"
    static let sql = query(user: 0).sql

    static func query(user: Int64) -> PostgresQuery {
        "SELECT last_todo_id FROM users WHERE id = \(user)"
    }
}

/// A user's last todo id raised by a create.
enum RaiseLastTodoID: NamedStatement {
    static let name = "almanac_raise_last_todo_id"
    static let sql = query(to: 0, user: 0).sql

    static func query(to id: Int64, user: Int64) -> PostgresQuery {
        "UPDATE users SET last_todo_id = GREATEST(last_todo_id, \(id)) WHERE id = \(user)"
    }
}
