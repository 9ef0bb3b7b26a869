import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Projector
import Testing

@Suite("Feed cache kept by delta")
struct FeedCacheTests {
    /// Many rounds of random changes over a calendar spanning several cache blocks: after each,
    /// the served feed (refreshed by delta, re-assembled block by block) equals a full
    /// regeneration from the events.
    @Test func deltaRefreshedFeedsEqualFullRegeneration() async throws {
        try await TestApp.run { app in
            let alice = try await app.user("alice")
            let path = try await app.feedPath(alice.authorization)
            var random = SplitMix(state: 7)
            var codes: [Int] = []
            for round in 0..<14 {
                // Each round appends a scripted burst (creates, edits, completions, deletes).
                let burst = (0..<(round == 0 ? 3000 : 3)).map { _ in Int.random(in: 0...100_000, using: &random) }
                codes += burst
                let events = Array(CommandScript.events(codes).dropFirst())
                let version = try await app.services.store.version(of: alice.id)
                let fresh = Array(events.dropFirst(Int(version) - 1))
                try await app.services.store.withTransaction { connection in
                    try await app.services.commands.append(
                        fresh,
                        user: alice.id,
                        expectedVersion: version,
                        on: connection
                    )
                }
                try await app.project()
                for (query, variant) in [("", FeedVariant.events), ("?format=vtodo", .tasks)] {
                    let served = try await app.send(.get, path + query)
                    #expect(served.status == .ok)
                    let expected = try #require(
                        try await CalendarRebuilder(store: app.services.store).compare(user: alice.id, variant: variant)
                    )
                    #expect(served.text == String(decoding: expected.full, as: UTF8.self), "round \(round) \(variant)")
                    #expect(Int(served.headers[.contentLength] ?? "") == served.body.readableBytes)
                }
            }
        }
    }
}
