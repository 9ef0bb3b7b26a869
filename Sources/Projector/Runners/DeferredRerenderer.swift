import EventStore
import Logging
public import ServiceLifecycle

/// Completes the re-renders that `ProjectionWriter` left out of its shared transaction (a
/// time-zone change of a large calendar): each deferred user's calendar is brought to its
/// stream's head by `ProjectionWriter.completeDeferred(user:)`, in short transactions, so the
/// projector keeps applying other users' changes meanwhile. Polls `calendar_deferrals` every
/// `pollInterval`; deferrals are durable rows, so a re-render interrupted by a crash or a
/// shutdown is done after the next start. Any number may run: a per-user advisory lock lets one
/// process work on a user at a time, and the others skip that user.
public struct DeferredRerenderer: Service {
    public let writer: ProjectionWriter
    public var pollInterval: Duration = .milliseconds(500)
    /// Users taken per poll.
    public var batch = 16

    public init(writer: ProjectionWriter) {
        self.writer = writer
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await runAvailable()
                try? await Task.sleep(for: pollInterval)
            }
        }
    }

    /// Completes the pending re-renders, until none is left, the others are being done by
    /// another process, or one fails.
    public func runAvailable() async {
        let logger = writer.store.logger
        do {
            while !Task.isCancelled {
                let users = try await writer.calendars.deferredUsers(limit: batch, client: writer.store.client)
                var completed = 0
                for user in users {
                    guard let report = try await writer.completeDeferred(user: user) else { continue }
                    completed += 1
                    logger.info(
                        "completed a deferred re-render",
                        metadata: [
                            "user": "\(user)", "entries": "\(report.entriesWritten)",
                            "version": "\(report.versions[user].map(String.init) ?? "unchanged")",
                        ]
                    )
                }
                if completed == 0 { return }
            }
        } catch {
            if Task.isCancelled { return }
            logger.error("deferred re-render failed", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
