import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Follows the global log from a named checkpoint with the gap-safe cursor, in batches, woken
/// by the store's NOTIFY and polling as a fallback. What a batch is used for (projecting,
/// publishing) and how its checkpoint is saved belongs to the caller.
public struct LogTail: Sendable {
    public let store: EventStore
    public var checkpointName: String
    public var batchSize: Int
    public var pollInterval: Duration
    /// How long the reader may be held back by an open transaction before it logs a warning.
    public var heldBackWarning: Duration = .seconds(5)
    private let wakeups = Wakeups()

    /// Whether `run` is LISTENing for appends.
    public var isListening: Bool { wakeups.isListening }

    public init(
        store: EventStore,
        checkpointName: String,
        batchSize: Int = 1000,
        pollInterval: Duration = .milliseconds(500)
    ) {
        self.store = store
        self.checkpointName = checkpointName
        self.batchSize = batchSize
        self.pollInterval = pollInterval
    }

    var logger: Logger { store.logger }

    /// Handles a batch; must save `cursor` as the checkpoint once the batch is done.
    public typealias Handler = @Sendable (_ batch: [RecordedEvent], _ cursor: GlobalCursor) async throws -> Void

    public func checkpoint() async throws -> GlobalCursor {
        try await store.client.leased { try await Checkpoints.load(checkpointName, on: $0, logger: logger) }
    }

    /// Runs until `wakeups` finish (graceful shutdown) or the task is cancelled.
    func follow(wakeups: Wakeups, retryDelay: Duration = .seconds(1), handle: Handler) async throws {
        var cursor = try await checkpoint()
        var signals = wakeups.signals.makeAsyncIterator()
        var held = HeldBack(threshold: heldBackWarning)
        while !Task.isCancelled {
            do {
                let before = cursor
                if try await catchUp(from: &cursor, handle: handle) {
                    // Progress ends a held-back period: under steady writes a short batch with
                    // newer events above the horizon is the normal case, not a stall (without
                    // this the reader crept along at the 500 ms backoff, warning falsely).
                    if cursor != before { release(&held) }
                    if try await store.hasEvents(after: cursor) {
                        // Committed events exist but an older open transaction holds the
                        // gap-safe horizon back: no NOTIFY will come, so look again, backing off
                        // (10 ms doubling to 500 ms), and say so when it lasts.
                        let pause = held.pause()
                        if held.shouldWarn() {
                            let blocker = try await store.oldestWritingTransaction()
                            logger.warning(
                                "reader held back by an open transaction",
                                metadata: [
                                    "checkpoint": "\(checkpointName)", "for": "\(held.elapsed)",
                                    "transaction_age_s":
                                        "\(blocker.map { String(format: "%.1f", $0.ageSeconds) } ?? "?")",
                                    "pid": "\(blocker?.pid ?? 0)",
                                ]
                            )
                        }
                        try await Task.sleep(for: pause)
                    } else {
                        release(&held)
                        if await signals.next() == nil { return }
                    }
                } else {
                    _ = held.release()
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error(
                    "batch failed; retrying",
                    metadata: ["checkpoint": "\(checkpointName)", "error": "\(String(reflecting: error))"]
                )
                try? await Task.sleep(for: retryDelay)
            }
        }
    }

    /// Ends a held-back period, saying so when it had been reported.
    private func release(_ held: inout HeldBack) {
        guard let elapsed = held.release() else { return }
        logger.notice(
            "reader no longer held back",
            metadata: ["checkpoint": "\(checkpointName)", "after": "\(elapsed)"]
        )
    }

    /// Handles one batch; returns true when there was nothing (more) to read.
    public func catchUp(from cursor: inout GlobalCursor, handle: Handler) async throws -> Bool {
        let batch = try await store.readAll(after: cursor, limit: batchSize)
        guard let last = batch.last else { return true }
        try await handle(batch, last.cursor)
        cursor = last.cursor
        return batch.count < batchSize
    }

    /// Catches up with everything committed, waiting (at most `timeout`) for events held
    /// behind the horizon by open transactions; throws `DrainTimedOut` when events committed
    /// before the call are still unread at the deadline (it never returns short of them).
    public func drainCommitted(timeout: Duration = .seconds(120), handle: Handler) async throws {
        var cursor = try await checkpoint()
        let deadline = ContinuousClock.now + timeout
        while true {
            if try await catchUp(from: &cursor, handle: handle), try await !store.hasEvents(after: cursor) { return }
            guard ContinuousClock.now < deadline else {
                throw DrainTimedOut(checkpoint: checkpointName, cursor: cursor, timeout: timeout)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// A drain that did not reach the end of the log in time (events held behind the horizon
    /// by a long transaction, or more than could be applied).
    public struct DrainTimedOut: Error, CustomStringConvertible {
        public var checkpoint: String
        public var cursor: GlobalCursor
        public var timeout: Duration
        public var description: String {
            "\(checkpoint): committed events still unread after \(timeout) (read up to \(cursor))"
        }
    }

    /// Runs `follow` with NOTIFY wake-ups and polling until graceful shutdown.
    public func run(handle: @escaping Handler) async throws {
        let wakeups = self.wakeups
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                await wakeups.listen(on: Channels.events, store: store)
            }
            group.addTask { await wakeups.tick(every: pollInterval) }
            try await withGracefulShutdownHandler {
                try await follow(wakeups: wakeups, handle: handle)
            } onGracefulShutdown: {
                wakeups.finish()
            }
            group.cancelAll()
        }
    }
}

/// How long a reader has been held back behind the gap-safe horizon: the backoff between looks
/// and when to warn (once when it crosses the threshold, then every time it doubles).
struct HeldBack {
    let threshold: Duration
    private var since: ContinuousClock.Instant?
    private var nextPause: Duration = .milliseconds(10)
    private var nextWarning: Duration

    init(threshold: Duration) {
        self.threshold = threshold
        self.nextWarning = threshold
    }

    var elapsed: Duration { since.map { ContinuousClock.now - $0 } ?? .zero }

    mutating func pause() -> Duration {
        if since == nil { since = .now }
        defer { nextPause = min(nextPause * 2, .milliseconds(500)) }
        return nextPause
    }

    mutating func shouldWarn() -> Bool {
        guard elapsed >= nextWarning else { return false }
        nextWarning = nextWarning * 2
        return true
    }

    /// Ends a held-back period; how long it lasted if it was long enough to have been reported.
    mutating func release() -> Duration? {
        defer {
            since = nil
            nextPause = .milliseconds(10)
            nextWarning = threshold
        }
        let lasted = elapsed
        return lasted >= threshold ? lasted : nil
    }
}
