import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import HTTPTypes
import NIOCore
import PostgresNIO
import Synchronization
import Testing

@Suite("Command retries")
struct CommandExecutorTests {
    static func timeZone(_ zone: String) -> [TodoEvent] {
        [.timeZoneChanged(TimeZoneChanged(timeZone: zone, at: Timestamp(microseconds: 1)))]
    }

    /// A command's transaction runs on its connection's event loop unless told otherwise (a bulk
    /// completion of more than `CommandExecutor.loopBoundTodos` todos).
    @Test func commandsRunOnTheirConnectionsLoopUnlessLarge() async throws {
        try await TestDatabase.withStore { store in
            let services = AlmanacServices(store: store)
            let onLoop = try await services.commands.execute(user: 4343) { connection, _ in
                (Self.timeZone("Asia/Tokyo"), connection.eventLoop.inEventLoop)
            }
            #expect(onLoop)
            let offLoop = try await services.commands.execute(user: 4343, onConnectionLoop: false) { connection, _ in
                (Self.timeZone("Europe/Paris"), connection.eventLoop.inEventLoop)
            }
            #expect(!offLoop)
            #expect(try await store.readStream(4343).map(\.version) == [1, 2])
        }
    }

    /// Two first commands on a stream race for version 1: the loser's append conflicts and is
    /// retried on the new version; with no retries left it is a 409.
    @Test func conflictingCommandsAreRetriedThen409() async throws {
        try await TestDatabase.withStore { store in
            let services = AlmanacServices(store: store)
            let gate = AsyncStream<Void>.makeStream()
            let decided = AsyncStream<Void>.makeStream()
            // The first attempt of `slow` decides at version 0, then waits until `fast` committed.
            let attempts = Counter()
            async let slow: Void = services.commands.execute(user: 4242) { _, version in
                if attempts.increment() == 1 {
                    decided.continuation.yield()
                    var iterator = gate.stream.makeAsyncIterator()
                    _ = await iterator.next()
                }
                return (Self.timeZone("Asia/Tokyo"), ())
            }
            var decisions = decided.stream.makeAsyncIterator()
            _ = await decisions.next()
            try await services.commands.execute(user: 4242) { _, _ in (Self.timeZone("Europe/Paris"), ()) }
            gate.continuation.yield()
            try await slow
            #expect(attempts.value == 2, "the conflicting command ran again")
            #expect(try await store.readStream(4242).map(\.version) == [1, 2])

            var impatient = services.commands
            impatient.maxAttempts = 1
            let second = AsyncStream<Void>.makeStream()
            let waiting = AsyncStream<Void>.makeStream()
            let tries = Counter()
            async let losing: Void = impatient.execute(user: 4343) { _, _ in
                if tries.increment() == 1 {
                    waiting.continuation.yield()
                    var iterator = second.stream.makeAsyncIterator()
                    _ = await iterator.next()
                }
                return (Self.timeZone("Asia/Tokyo"), ())
            }
            var waits = waiting.stream.makeAsyncIterator()
            _ = await waits.next()
            try await services.commands.execute(user: 4343) { _, _ in (Self.timeZone("Europe/Paris"), ()) }
            second.continuation.yield()
            do {
                try await losing
                Issue.record("expected a version conflict (409 at the HTTP edge)")
            } catch is VersionConflict {}
            #expect(try await store.readStream(4343).count == 1)
        }
    }
}

/// A thread-safe counter for the closures above.
final class Counter: Sendable {
    private let storage = Mutex(0)
    func increment() -> Int {
        storage.withLock {
            $0 += 1; return $0
        }
    }
    var value: Int { storage.withLock { $0 } }
}
