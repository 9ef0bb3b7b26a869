import EventStore
import Logging
import PostgresNIO
import Projector
public import ServiceLifecycle
import Synchronization

/// Runs `full` calendar jobs: waits until the projection has reached the job's version, then
/// regenerates the calendar from events alone and compares it byte for byte with the
/// incremental projection. Any number of workers share the queue (`FOR UPDATE SKIP LOCKED`).
public struct JobWorker: Service {
    public let queue: JobQueue
    public var pollInterval: Duration = .milliseconds(500)
    /// How long to wait for the projection to reach a job's version before retrying it later.
    public var projectionWait: Duration = .seconds(30)

    private let wakeups = Wakeups()
    private let expiry = Every(.seconds(60))

    public init(queue: JobQueue) {
        self.queue = queue
    }

    /// Whether the worker is LISTENing for submissions.
    public var isListening: Bool { wakeups.isListening }

    /// Runs jobs until graceful shutdown: woken by the queue's NOTIFY on submission, with a
    /// poll every `pollInterval` for jobs whose notification was missed (or that are retried).
    public func run() async throws {
        let wakeups = self.wakeups
        let queue = self.queue
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                await wakeups.listen(on: Channels.jobs, store: queue.store)
            }
            group.addTask { await wakeups.tick(every: pollInterval) }
            wakeups.signal()
            await withGracefulShutdownHandler {
                for await _ in wakeups.signals {
                    await runAvailable()
                }
            } onGracefulShutdown: {
                wakeups.finish()
            }
            group.cancelAll()
        }
    }

    /// Deletes expired jobs and idempotency keys (at most once a minute), then runs jobs until the queue is empty or
    /// claiming fails.
    private func runAvailable() async {
        do {
            if expiry.due() {
                try await queue.table.expire(olderThan: queue.retention)
                try await IdempotencyTable(client: queue.store.client, logger: queue.store.logger).expire()
            }
            while try await runOne() {}
        } catch {
            queue.store.logger.error("job worker failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Claims and runs one job; false when there was none.
    @discardableResult
    public func runOne() async throws -> Bool {
        guard let job = try await queue.table.claim() else { return false }
        let started = ContinuousClock.now
        do {
            // Wait for the calendar row (one cheap read, backing off), and regenerate only once it
            // has reached the job's version: a lagging projection must not cost a full
            // regeneration per check.
            let deadline = ContinuousClock.now + projectionWait
            var pause = Duration.milliseconds(20)
            while try await queue.projectedVersion(user: job.userID) < job.targetVersion {
                guard ContinuousClock.now < deadline else {
                    throw JobError(description: "the projection did not reach version \(job.targetVersion) in time")
                }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(1))
            }
            let rebuilder = CalendarRebuilder(store: queue.store)
            guard let comparison = try await rebuilder.compare(user: job.userID, variant: .events) else {
                throw JobError(description: "no calendar for the user")
            }
            if !comparison.matches {
                queue.store.logger.error(
                    "full regeneration differs from the incremental projection",
                    metadata: ["job": "\(job.id)"]
                )
            }
            try await queue.table.succeed(
                job.id,
                result: comparison.full,
                durationMilliseconds: comparison.regenerationSeconds * 1000,
                matches: comparison.matches
            )
            JobMetrics.finished(mode: .full, outcome: comparison.matches ? .success : .mismatch, since: started)
        } catch {
            JobMetrics.finished(mode: .full, outcome: .failure, since: started)
            try await queue.table.fail(job, error: "\(error)")
        }
        return true
    }

    struct JobError: Error, CustomStringConvertible {
        var description: String
    }
}

/// True at most once per `interval` (the first call included).
final class Every: Sendable {
    private let interval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(_ interval: Duration) {
        self.interval = interval
    }

    func due() -> Bool {
        last.withLock { last in
            let now = ContinuousClock.now
            if let previous = last, now - previous < interval { return false }
            last = now
            return true
        }
    }
}
