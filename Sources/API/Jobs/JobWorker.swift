import EventStore
import Logging
import PostgresNIO
import Projector
public import ServiceLifecycle

/// Runs `full` calendar jobs: waits until the projection has reached the job's version, then
/// regenerates the calendar from events alone and compares it byte for byte with the
/// incremental projection. Any number of workers share the queue (`FOR UPDATE SKIP LOCKED`).
public struct JobWorker: Service {
    public let queue: JobQueue
    public var pollInterval: Duration = .milliseconds(500)
    /// How long to wait for the projection to reach a job's version before retrying it later.
    public var projectionWait: Duration = .seconds(30)

    private let wakeups = Wakeups()

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

    /// Runs jobs until the queue is empty or claiming fails.
    private func runAvailable() async {
        do {
            while try await runOne() {}
        } catch {
            queue.store.logger.error("job worker failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// Claims and runs one job; false when there was none.
    @discardableResult
    public func runOne() async throws -> Bool {
        guard let job = try await queue.table.claim() else { return false }
        do {
            let rebuilder = CalendarRebuilder(store: queue.store)
            let deadline = ContinuousClock.now + projectionWait
            var comparison = try await rebuilder.compare(user: job.userID, variant: .events)
            while (comparison?.version ?? -1) < job.targetVersion {
                guard ContinuousClock.now < deadline else {
                    throw JobError(description: "the projection did not reach version \(job.targetVersion) in time")
                }
                try await Task.sleep(for: .milliseconds(50))
                comparison = try await rebuilder.compare(user: job.userID, variant: .events)
            }
            guard let comparison else { throw JobError(description: "no calendar for the user") }
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
        } catch {
            try await queue.table.fail(job, error: "\(error)")
        }
        return true
    }

    struct JobError: Error, CustomStringConvertible {
        var description: String
    }
}
