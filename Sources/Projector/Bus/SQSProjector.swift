public import Bus
import EventStore
import Logging
public import ServiceLifecycle

/// `almanac project --source sqs`: the projector fed by an SQS queue (subscribed to the relay's
/// SNS topic, raw delivery or the SNS envelope).
///
/// Each receive (up to 10 messages, long polling) is applied through `ProjectionWriter`, which
/// makes duplicates and late events no-ops and fills gaps from the store, so a standard queue
/// (at-least-once, unordered) gives the same feeds as a FIFO one. A message is deleted only
/// after the projection transaction that covers it committed. When a batch fails, each user's
/// events are applied on their own: one user's poison event does not hold back the others; its
/// messages are not deleted and return after the visibility timeout until the queue's redrive
/// policy moves them to the dead-letter queue. A batch that takes long has its visibility
/// extended while it runs.
public struct SQSProjector: Service {
    public let client: SQSClient
    public let queueURL: String
    public let writer: ProjectionWriter
    /// Seconds a received message stays invisible to other consumers while it is applied.
    public var visibilityTimeout: Int
    /// Long-poll wait per receive (at most 20).
    public var waitTimeSeconds: Int

    public init(
        client: SQSClient,
        queueURL: String,
        writer: ProjectionWriter,
        visibilityTimeout: Int = 30,
        waitTimeSeconds: Int = 20
    ) {
        self.client = client
        self.queueURL = queueURL
        self.writer = writer
        self.visibilityTimeout = max(2, visibilityTimeout)
        self.waitTimeSeconds = waitTimeSeconds
    }

    var logger: Logger { writer.store.logger }

    public func run() async throws {
        // Graceful shutdown cancels the long poll and a batch being applied; a cancelled batch is
        // not deleted, so the queue delivers it again (to this or another projector).
        try await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    let messages = try await client.receiveMessages(
                        queueURL: queueURL,
                        maxMessages: SQSClient.maximumBatchSize,
                        waitTimeSeconds: waitTimeSeconds,
                        visibilityTimeout: visibilityTimeout
                    )
                    if !messages.isEmpty { try await handle(messages) }
                    failures = 0
                } catch {
                    if Task.isCancelled { return }
                    failures += 1
                    logger.error(
                        "SQS projector failed; retrying",
                        metadata: ["attempt": "\(failures)", "error": "\(String(reflecting: error))"]
                    )
                    try await Task.sleep(for: .milliseconds(min(5_000, 100 << min(failures, 6))))
                }
            }
        }
    }

    /// Applies `messages` and deletes the ones whose events are now projected.
    func handle(_ messages: [SQSMessage]) async throws {
        var events: [RecordedEvent] = []
        var handles: [Int64: [String]] = [:]
        for message in messages {
            do {
                let event = RecordedEvent(try BusEnvelope(decoding: try message.busMessage()))
                events.append(event)
                handles[event.streamID, default: []].append(message.receiptHandle)
            } catch {
                // Never applicable: left to the redrive policy (dead-letter queue), loudly.
                logger.error(
                    "undecodable SQS message left to the queue's redrive policy",
                    metadata: [
                        "message": "\(message.messageID)", "receives": "\(message.receiveCount ?? 0)",
                        "error": "\(error)",
                    ]
                )
            }
        }
        guard !events.isEmpty else { return }
        let decoded = events
        let applied = try await whileVisible(messages) { try await apply(decoded) }
        let done = applied.flatMap { handles[$0] ?? [] }
        if !done.isEmpty { try await client.deleteMessages(queueURL: queueURL, receiptHandles: done) }
    }

    /// Applies all events in one transaction, or, when that fails, each user's on their own;
    /// returns the users whose events are projected.
    private func apply(_ events: [RecordedEvent]) async throws -> [Int64] {
        let users = Set(events.map(\.streamID))
        do {
            try await writer.apply(events)
            return Array(users)
        } catch {
            if Task.isCancelled { throw error }
            logger.warning("batch failed; applying each user's events on their own", metadata: ["error": "\(error)"])
        }
        var applied: [Int64] = []
        for user in users.sorted() {
            do {
                try await writer.apply(events.filter { $0.streamID == user })
                applied.append(user)
            } catch {
                if Task.isCancelled { throw error }
                logger.error(
                    "events of one user cannot be projected; left to the queue's redrive policy",
                    metadata: ["user": "\(user)", "error": "\(String(reflecting: error))"]
                )
            }
        }
        return applied
    }

    /// Runs `body` while extending the messages' visibility every half timeout.
    private func whileVisible<Result: Sendable>(
        _ messages: [SQSMessage],
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(visibilityTimeout) / 2)
                    do {
                        _ = try await client.changeMessageVisibilityBatch(
                            queueURL: queueURL,
                            receiptHandles: messages.map(\.receiptHandle),
                            visibilityTimeout: visibilityTimeout
                        )
                    } catch {
                        logger.warning("could not extend the visibility of a batch", metadata: ["error": "\(error)"])
                    }
                }
            }
            group.addTask { try await body() }
            while let result = try await group.next() {
                if let result {
                    group.cancelAll()
                    return result
                }
            }
            preconditionFailure("the batch finished without a result")
        }
    }
}
