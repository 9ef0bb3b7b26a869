import Domain
import EventStore
import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// Users: creation (with a one-time API key), lookup, authentication. Throws `ValidationError`
/// for a bad name and `UserTable.NameTaken` for a taken one; the HTTP edge maps them.
public struct UserDirectory: Sendable {
    public let commands: CommandExecutor
    /// API keys this process has seen valid (see `KnownAPIKeys`).
    let knownKeys: KnownAPIKeys

    public init(commands: CommandExecutor, knownKeyCapacity: Int = 10_000, knownKeyLifetime: Duration = .seconds(60)) {
        self.commands = commands
        self.knownKeys = KnownAPIKeys(capacity: knownKeyCapacity, lifetime: knownKeyLifetime)
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
    ///
    /// A key seen valid before is answered from memory (no database round trip on every
    /// authenticated request); an unknown key is looked up every time.
    public func authenticate(apiKey: String) async throws -> AuthenticatedUser? {
        let hash = Secrets.storedHash(apiKey)
        if let known = knownKeys.user(hash: hash) { return known }
        knownKeys.countLookup()
        guard let user = try await table.user(apiKeyHash: hash).map(AuthenticatedUser.init) else { return nil }
        knownKeys.remember(user, hash: hash)
        return user
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

/// API keys already seen valid in this process, by their stored hash (never the key itself), for
/// `lifetime` after the lookup that found them.
///
/// Sound because a key never changes: it is written once, with its user, by registration, and
/// nothing in Almanac updates or deletes `users.api_key_hash` or a user (docs/architecture.md,
/// invariant 15). The lifetime bounds what a change made outside Almanac can leave behind: a key
/// removed by hand with SQL, or a database restored from a backup (where a user id may be given
/// again), is refused by every process within `lifetime` (60 s by default). A feature that revokes
/// or rotates keys must make every process forget them at once, as `FeedLookups` does for feed
/// tokens. An unknown key is never remembered: it may be registered later by another process, and
/// a client sending random keys must not fill the memory. Bounded: at `capacity` entries the
/// memory is cleared.
final class KnownAPIKeys: Sendable {
    let capacity: Int
    let lifetime: Duration
    private let users = Mutex<[ByteBuffer: (user: AuthenticatedUser, until: ContinuousClock.Instant)]>([:])
    private let lookups = Atomic<Int>(0)

    init(capacity: Int, lifetime: Duration = .seconds(60)) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    func user(hash: ByteBuffer) -> AuthenticatedUser? {
        let now = ContinuousClock.now
        return users.withLock { users in
            guard let known = users[hash] else { return nil }
            guard now < known.until else {
                users[hash] = nil
                return nil
            }
            return known.user
        }
    }

    func remember(_ user: AuthenticatedUser, hash: ByteBuffer) {
        guard capacity > 0, lifetime > .zero else { return }
        let until = ContinuousClock.now + lifetime
        users.withLock { users in
            if users.count >= capacity { users.removeAll(keepingCapacity: true) }
            users[hash] = (user, until)
        }
    }

    func countLookup() {
        lookups.add(1, ordering: .relaxed)
    }

    /// Keys held, and database lookups made (for tests).
    var count: Int { users.withLock { $0.count } }
    var databaseLookups: Int { lookups.load(ordering: .relaxed) }
}
