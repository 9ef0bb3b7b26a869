import Domain
import EventStore
import Foundation
import HTTPTypes
import Logging
import PostgresNIO

/// Users: creation (with a one-time API key), lookup, authentication.
public struct UserDirectory: Sendable {
    public let commands: CommandExecutor

    public init(commands: CommandExecutor) {
        self.commands = commands
    }

    var store: EventStore { commands.store }
    var logger: Logger { store.logger }

    /// The user `--auth none` acts as, created on first start.
    public static let defaultUserName = "default"

    /// A new user and the API key to give them (shown once, never stored).
    public struct Created: Sendable {
        public var user: AuthenticatedUser
        public var apiKey: String
    }

    public func create(name rawName: String, timeZone: String = "UTC") async throws -> Created {
        let name: String
        do {
            name = try Validate.userName(rawName)
        } catch {
            throw APIError.badRequest(error.message)
        }
        let apiKey = Secrets.generate(prefix: "alm_")
        let at = Timestamp.now()
        do {
            let id = try await store.withTransaction { connection in
                var id: Int64 = 0
                for try await next in try await connection.query("SELECT nextval('user_ids')", logger: logger)
                    .decode(Int64.self)
                {
                    id = next
                }
                try await connection.query(
                    "INSERT INTO users (id, name, api_key_hash) VALUES (\(id), \(name), \(Secrets.storedHash(apiKey)))",
                    logger: logger
                )
                try await commands.append(
                    [.userRegistered(UserRegistered(name: name, timeZone: timeZone, at: at))],
                    user: id,
                    expectedVersion: 0,
                    on: connection
                )
                return id
            }
            return Created(user: AuthenticatedUser(id: id, name: name), apiKey: apiKey)
        } catch let error as PSQLError where error.sqlState == "23505" {
            throw APIError(.conflict, "a user named \(name.debugDescription) already exists")
        }
    }

    /// The user holding `apiKey`, if any.
    public func authenticate(apiKey: String) async throws -> AuthenticatedUser? {
        try await first("SELECT id, name FROM users WHERE api_key_hash = \(Secrets.storedHash(apiKey))")
    }

    public func user(named name: String) async throws -> AuthenticatedUser? {
        try await first("SELECT id, name FROM users WHERE name = \(name)")
    }

    public func count() async throws -> Int {
        for try await count in try await store.client.query("SELECT count(*) FROM users", logger: logger)
            .decode(Int64.self)
        {
            return Int(count)
        }
        return 0
    }

    /// All users, for rebuilds.
    public func all() async throws -> [AuthenticatedUser] {
        var users: [AuthenticatedUser] = []
        for try await (id, name) in try await store.client.query(
            "SELECT id, name FROM users ORDER BY id",
            logger: logger
        )
        .decode((Int64, String).self) {
            users.append(AuthenticatedUser(id: id, name: name))
        }
        return users
    }

    /// Creates `default` on an empty database; returns its API key when it did.
    public func createDefaultUserIfEmpty() async throws -> Created? {
        guard try await count() == 0 else { return nil }
        do {
            return try await create(name: Self.defaultUserName)
        } catch let error as APIError where error.status == .conflict {
            return nil  // another process created it first
        }
    }

    private func first(_ query: PostgresQuery) async throws -> AuthenticatedUser? {
        for try await (id, name) in try await store.client.query(query, logger: logger).decode((Int64, String).self) {
            return AuthenticatedUser(id: id, name: name)
        }
        return nil
    }
}
