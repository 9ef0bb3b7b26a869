public import EventStore
import Logging
import PostgresNIO
public import ServiceLifecycle

/// The embedded runner: tails the global log with the gap-safe cursor, woken by NOTIFY (and
/// polling as a fallback), and applies batches through `ProjectionWriter` with its checkpoint.
public struct StoreTailingProjector: Service {
    public let writer: ProjectionWriter
    public var checkpointName: String
    public var batchSize: Int
    public var pollInterval: Duration

    public init(
        writer: ProjectionWriter,
        checkpointName: String = "calendar-projector",
        batchSize: Int = 1000,
        pollInterval: Duration = .milliseconds(500)
    ) {
        self.writer = writer
        self.checkpointName = checkpointName
        self.batchSize = batchSize
        self.pollInterval = pollInterval
    }

    var store: EventStore { writer.store }
    var logger: Logger { store.logger }

    public func run() async throws {
        let wakeups = Wakeups()
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { await listen(wakeups: wakeups) }
                group.addTask { await wakeups.tick(every: pollInterval) }
                try await tail(wakeups: wakeups)
                group.cancelAll()
            }
        } onGracefulShutdown: {
            wakeups.finish()
        }
    }

    /// Applies everything available, then waits for a wake-up; returns when wake-ups finish.
    func tail(wakeups: Wakeups) async throws {
        var cursor = try await store.client.withConnection {
            try await Checkpoints.load(checkpointName, on: $0, logger: logger)
        }
        var signals = wakeups.signals.makeAsyncIterator()
        while !Task.isCancelled {
            do {
                if try await catchUp(from: &cursor) {
                    if try await store.hasEvents(after: cursor) {
                        // Committed events exist but an older open transaction holds the
                        // gap-safe horizon back: look again soon, no NOTIFY will come.
                        try await Task.sleep(for: .milliseconds(10))
                    } else if await signals.next() == nil {
                        return
                    }
                }
            } catch {
                logger.error("projector batch failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
                if await signals.next() == nil { return }
            }
        }
    }

    /// Applies one batch; returns true when there was nothing to read.
    public func catchUp(from cursor: inout GlobalCursor) async throws -> Bool {
        let batch = try await store.readAll(after: cursor, limit: batchSize)
        guard let last = batch.last else { return true }
        try await writer.apply(batch, checkpoint: (checkpointName, last.cursor))
        cursor = last.cursor
        return batch.count < batchSize
    }

    /// Catches up with everything committed so far (for `rebuild` and tests).
    public func drain() async throws {
        var cursor = try await store.client.withConnection {
            try await Checkpoints.load(checkpointName, on: $0, logger: logger)
        }
        while try await !catchUp(from: &cursor) {}
    }

    /// Catches up and keeps reading while committed events are still held back by the gap-safe
    /// horizon (an older transaction still open), for at most `timeout`.
    public func drainCommitted(timeout: Duration = .seconds(30)) async throws {
        var cursor = try await store.client.withConnection {
            try await Checkpoints.load(checkpointName, on: $0, logger: logger)
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await catchUp(from: &cursor), try await !store.hasEvents(after: cursor) { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func listen(wakeups: Wakeups) async {
        while !Task.isCancelled {
            do {
                try await store.client.withConnection { connection in
                    try await connection.listen(on: EventStore.notificationChannel) { notifications in
                        for try await _ in notifications { wakeups.signal() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN failed; polling only", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
