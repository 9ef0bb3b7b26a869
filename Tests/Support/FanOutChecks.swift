public import API
import Domain
public import EventStore
import PostgresNIO
import Projector
import Testing

/// What every fan-out test does: write scripted histories, wait for the projection, and compare
/// every feed with a full regeneration from the store (the embedded mode's bytes).
public enum FanOutChecks {
    /// Creates `users` users and writes a scripted command sequence for each through the command path.
    public static func writeEvents(_ services: AlmanacServices, users: Int, seed: Int) async throws -> [Int64] {
        var ids: [Int64] = []
        for index in 0..<users {
            let user = try await services.users.create(name: "user-\(seed)-\(index)").user.id
            ids.append(user)
            try await append(services, user: user, codes: Array(stride(from: seed + index, to: 4000, by: 97 + index)))
        }
        return ids
    }

    /// Appends the scripted events of `codes` to an existing user, five per transaction.
    public static func append(_ services: AlmanacServices, user: Int64, codes: [Int]) async throws {
        let events = CommandScript.events(codes).dropFirst()  // the user is already registered
        var version = try await services.store.version(of: user)
        for chunk in stride(from: 0, to: events.count, by: 5) {
            let slice = Array(events.dropFirst(chunk).prefix(5))
            try await services.store.withTransaction { connection in
                try await services.commands.append(slice, user: user, expectedVersion: version, on: connection)
            }
            version += Int64(slice.count)
        }
    }

    /// The projected calendar version of each user (0 before the first).
    public static func projectedVersions(_ store: EventStore, users: [Int64]) async throws -> [Int64] {
        var versions: [Int64] = []
        for user in users {
            versions.append(
                try await store.client.withConnection {
                    try await CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements).head(
                        user: user,
                        on: $0
                    )?.version ?? 0
                }
            )
        }
        return versions
    }

    /// Waits until every user's calendar has reached its stream version.
    public static func waitForProjection(_ store: EventStore, users: [Int64], timeout: Duration = .seconds(90))
        async throws
    {
        try await poll("every calendar reaches its stream version", limit: timeout, interval: .milliseconds(20)) {
            let projected = try await projectedVersions(store, users: users)
            for (user, version) in zip(users, projected) where version < (try await store.version(of: user)) {
                return false
            }
            return true
        }
    }

    /// Every variant of every user's feed equals a full regeneration at the stream's version.
    public static func expectFeedsEqualFullRegeneration(_ store: EventStore, users: [Int64]) async throws {
        for user in users {
            for variant in FeedVariant.allCases {
                let comparison = try #require(
                    try await CalendarRebuilder(store: store).compare(user: user, variant: variant)
                )
                #expect(comparison.version == (try await store.version(of: user)))
                #expect(comparison.matches, "user \(user) \(variant)")
            }
        }
    }
}
