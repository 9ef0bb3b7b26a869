public import Bus
import EventStore
import Logging
public import ServiceLifecycle
import Tracing

/// `almanac project --source sqs`: the projector fed by an SQS queue (subscribed to the relay's
/// SNS topic, raw delivery or the SNS envelope).
///
/// The store is the authority (as for Kafka): a message only says which stream moved and to
/// which version; `ProjectionWriter.catchUp` reads the events from the store, so a duplicate or
/// late message changes nothing, one that arrives early makes the projector read its
/// predecessors, and a forged payload never reaches a feed. A standard queue (at-least-once,
/// unordered) thus gives the same feeds as a FIFO one. A message is deleted only
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
        ConsumerMetrics.register(.sqs, [.receive, .delete, .extendVisibility, .project])
        try await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    let messages: [SQSMessage]
                    do {
                        messages = try await client.receiveMessages(
                            queueURL: queueURL,
                            maxMessages: SQSClient.maximumBatchSize,
                            waitTimeSeconds: waitTimeSeconds,
                            visibilityTimeout: visibilityTimeout
                        )
                    } catch {
                        if !Task.isCancelled { ConsumerMetrics.failed(.sqs, .receive) }
                        throw error
                    }
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

    /// Applies `messages` and deletes the ones whose streams are now projected.
    func handle(_ messages: [SQSMessage]) async throws {
        // One span per batch, linked to the appends that wrote its events (many traces).
        try await withSpan("sqs.projector.batch", ofKind: .consumer) { span in
            span.attributes["messaging.system"] = "aws_sqs"
            span.attributes["messaging.batch.message_count"] = messages.count
            try await handle(messages, span: span)
        }
    }

    private func handle(_ messages: [SQSMessage], span: any Span) async throws {
        var hints = BusHints()
        var handles: [Int64: [String]] = [:]
        for message in messages {
            do {
                let hint = try BusEnvelope.Hint(decoding: try message.busMessage())
                hints.add(hint)
                handles[hint.streamID, default: []].append(message.receiptHandle)
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
        TraceCarrier.link(span, to: hints.traceContexts)
        guard !hints.versions.isEmpty else { return }
        let moved = hints.versions
        let applied = try await whileVisible(messages) { try await apply(moved) }
        let done = applied.flatMap { handles[$0] ?? [] }
        if !done.isEmpty {
            do {
                try await client.deleteMessages(queueURL: queueURL, receiptHandles: done)
            } catch {
                // The applied messages return after the visibility timeout: applied again, as no-ops.
                if !Task.isCancelled { ConsumerMetrics.failed(.sqs, .delete) }
                throw error
            }
        }
    }

    /// Catches every stream up in one transaction, or, when that fails, each on its own;
    /// returns the streams that are now projected.
    private func apply(_ hints: [Int64: Int64]) async throws -> [Int64] {
        do {
            try await writer.catchUp(hints)
            return Array(hints.keys)
        } catch {
            if Task.isCancelled { throw error }
            ConsumerMetrics.failed(.sqs, .project)
            logger.warning("batch failed; catching each user up on their own", metadata: ["error": "\(error)"])
        }
        var applied: [Int64] = []
        for (user, version) in hints.sorted(by: { $0.key < $1.key }) {
            do {
                try await writer.catchUp([user: version])
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
                        ConsumerMetrics.failed(.sqs, .extendVisibility)
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
