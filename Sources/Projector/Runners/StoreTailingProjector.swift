public import EventStore
public import ServiceLifecycle

/// The embedded runner: tails the global log and applies batches through `ProjectionWriter`,
/// saving its checkpoint in the projection's own transaction.
public struct StoreTailingProjector: Service {
    public let writer: ProjectionWriter
    public let tail: LogTail

    public init(
        writer: ProjectionWriter,
        checkpointName: String = StoreTailingProjector.defaultCheckpointName,
        batchSize: Int = 1000,
        pollInterval: Duration = .milliseconds(500)
    ) {
        self.writer = writer
        self.tail = LogTail(
            store: writer.store,
            checkpointName: checkpointName,
            batchSize: batchSize,
            pollInterval: pollInterval
        )
    }

    public var checkpointName: String { tail.checkpointName }

    /// The checkpoint `almanac serve` and `almanac project --source store` keep.
    public static let defaultCheckpointName = "calendar-projector"

    /// Whether the runner is LISTENing for appends.
    public var isListening: Bool { tail.isListening }

    var handler: LogTail.Handler {
        let writer = self.writer
        let name = checkpointName
        return { batch, cursor in try await writer.apply(batch, checkpoint: (name, cursor)) }
    }

    public func run() async throws {
        try await tail.run(handle: handler)
    }

    /// Applies one batch after `cursor`; returns true when there was nothing (more) to read.
    public func catchUp(from cursor: inout GlobalCursor) async throws -> Bool {
        try await tail.catchUp(from: &cursor, handle: handler)
    }

    /// Applies everything committed so far, waiting for events behind the horizon; throws
    /// `LogTail.DrainTimedOut` when that takes longer than `timeout`.
    public func drainCommitted(timeout: Duration = .seconds(120)) async throws {
        try await tail.drainCommitted(timeout: timeout, handle: handler)
    }
}
