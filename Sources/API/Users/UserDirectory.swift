import Domain
import EventStore
import Foundation
import Logging
import PostgresNIO

/// Users: creation (with a one-time API key), lookup, authentication. Throws `ValidationError`
/// for a bad name and `UserTable.NameTaken` for a taken one; the HTTP edge maps them.
public struct UserDirectory: Sendable {
    public let commands: CommandExecutor

    public init(commands: CommandExecutor) {
        self.commands = commands
    }

    var store: EventStore { commands.store }
    var table: UserTable { commands.todos.users }

    /// The user `--auth none` acts as, created on first start.
    public static let defaultUserName = "default"

    /// A new user and the API key to give them (shown once, never stored).
    public struct Created: Sendable {
        public var user: AuthenticatedUser
        public var apiKey: String
    }

    public func create(name rawName: String, timeZone: String = "UTC") async throws -> Created {
        let name = try Validate.userName(rawName)
        let apiKey = Secrets.generate(prefix: "alm_")
        let at = Timestamp.now()
        let table = self.table
        let id = try await store.withTransaction { connection in
            let id = try await table.insert(name: name, apiKeyHash: Secrets.storedHash(apiKey), on: connection)
            try await commands.append(
                [.userRegistered(UserRegistered(name: name, timeZone: timeZone, at: at))],
                user: id,
                expectedVersion: 0,
                on: connection
            )
            return id
        }
        return Created(user: AuthenticatedUser(id: id, name: name), apiKey: apiKey)
    }

    /// The user holding `apiKey`, if any.
    public func authenticate(apiKey: String) async throws -> AuthenticatedUser? {
        try await table.user(apiKeyHash: Secrets.storedHash(apiKey)).map(AuthenticatedUser.init)
    }

    public func user(named name: String) async throws -> AuthenticatedUser? {
        try await table.user(named: name).map(AuthenticatedUser.init)
    }

    public func count() async throws -> Int {
        try await table.count()
    }

    /// All users, for rebuilds.
    public func all() async throws -> [AuthenticatedUser] {
        try await table.all().map(AuthenticatedUser.init)
    }

    /// Creates `default` on an empty database; returns its API key when it did.
    public func createDefaultUserIfEmpty() async throws -> Created? {
        guard try await count() == 0 else { return nil }
        do {
            return try await create(name: Self.defaultUserName)
        } catch is UserTable.NameTaken {
            return nil  // another process created it first
        }
    }
}

extension AuthenticatedUser {
    init(_ row: UserTable.Row) {
        self.init(id: row.id, name: row.name)
    }
}
