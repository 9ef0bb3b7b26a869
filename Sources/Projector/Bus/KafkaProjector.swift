public import Bus
import EventStore
import Logging
public import ServiceLifecycle
import Tracing

/// `almanac project --source kafka`: the projector fed by a Kafka consumer group.
///
/// Messages are applied in batches: whatever the consumer has received while the previous
/// batch was being written (up to `maxBatch`) goes through `ProjectionWriter.catchUp` in one
/// transaction; then, for each partition, the offset after its last message in the batch is
/// committed. Offsets are never committed before the projection transaction has committed.
///
/// Trust: a message is a hint, not a source of events. Only its `stream_id` and `version` are
/// read; the events after the calendar's applied version through that version come from the
/// event store, so a forged or corrupted message can at worst make the projector read the store
/// (duplicates are no-ops, versions beyond the stream's head are logged and skipped).
public struct KafkaProjector: Service {
    public let subscriber: KafkaSubscriber
    public let writer: ProjectionWriter
    /// The most messages applied in one projection transaction.
    public var maxBatch: Int

    public init(subscriber: KafkaSubscriber, writer: ProjectionWriter, maxBatch: Int = 500) {
        self.subscriber = subscriber
        self.writer = writer
        self.maxBatch = max(1, maxBatch)
    }

    var logger: Logger { writer.store.logger }

    public func run() async throws {
        ConsumerMetrics.register(.kafka, [.commit, .project])
        let buffer = BatchBuffer<ReceivedMessage>(capacity: maxBatch)
        let subscriber = self.subscriber
        // The iterator must outlive this service: dropping it (or cancelling its task) closes the
        // subscriber, which must not finish before this service has, or the service group takes
        // it for a failure. So it runs in its own task, which ends when the subscriber's sequence
        // does (the subscriber is shut down after this service), or when this service is cancelled.
        let feeding = Task {
            do {
                for try await received in subscriber.messages { await buffer.push(received) }
                buffer.finish()
            } catch {
                buffer.finish(throwing: error)
            }
        }
        defer {
            // Whatever still arrives is dropped (its offsets are not committed: the partitions'
            // next owner receives it again) without blocking the feeding task.
            buffer.stop()
        }
        do {
            try await withTaskCancellationHandler {
                try await cancelWhenGracefulShutdown {
                    while let batch = try await buffer.take(upTo: maxBatch) {
                        try await handle(batch)
                    }
                }
            } onCancel: {
                feeding.cancel()
            }
        } catch is CancellationError {
            // Graceful shutdown: the batch being handled was either committed or will be
            // redelivered to the next owner of its partitions.
        }
    }

    func handle(_ batch: [ReceivedMessage]) async throws {
        // One span per batch, linked to the appends that wrote its events (many traces).
        try await withSpan("kafka.projector.batch", ofKind: .consumer) { span in
            span.attributes["messaging.system"] = "kafka"
            span.attributes["messaging.batch.message_count"] = batch.count
            try await handle(batch, span: span)
        }
    }

    private func handle(_ batch: [ReceivedMessage], span: any Span) async throws {
        // Messages of partitions revoked since they were received belong to another member now:
        // it receives them again from the last committed offset.
        var batch = batch.filter(subscriber.isCurrent)
        var hints = hints(batch)
        TraceCarrier.link(span, to: hints.traceContexts)
        var attempt = 0
        while !hints.versions.isEmpty {
            do {
                try await writer.catchUp(hints.versions)
                break
            } catch {
                if Task.isCancelled { throw CancellationError() }
                ConsumerMetrics.failed(.kafka, .project)
                attempt += 1
                logger.error("projection failed; retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: .milliseconds(min(5_000, 100 * attempt)))
                // The subscriber serves rebalances meanwhile: retry only what is still ours.
                let current = batch.filter(subscriber.isCurrent)
                if current.count != batch.count {
                    batch = current
                    hints = self.hints(batch)
                }
            }
        }
        // Messages of one partition arrive in offset order: its last one covers the batch.
        var last: [TopicPartition: ReceivedMessage] = [:]
        for received in batch { last[TopicPartition(topic: received.topic, partition: received.partition)] = received }
        for (_, received) in last.sorted(by: { $0.key < $1.key }) {
            try await commit(received)
        }
    }

    /// The highest version each stream reached according to `batch`.
    ///
    /// The store is the authority: a message only says which stream moved and to which version;
    /// the events are read from the store (see `ProjectionWriter.catchUp`).
    private func hints(_ batch: [ReceivedMessage]) -> BusHints {
        var hints = BusHints()
        for received in batch {
            do {
                hints.add(try BusEnvelope.Hint(decoding: received.message))
            } catch {
                // A message that is not an Almanac envelope can never be applied: skip it, loudly
                // (its offset is committed with the batch).
                logger.error(
                    "skipping undecodable message",
                    metadata: [
                        "partition": "\(received.partition)", "offset": "\(received.offset)", "error": "\(error)",
                    ]
                )
            }
        }
        return hints
    }

    private func commit(_ received: ReceivedMessage) async throws {
        do {
            try await subscriber.commit(received)
        } catch let error as KafkaError where error.code == .partitionRevoked {
            // The partition moved to another member, which replays from the last commit; the
            // replayed events are duplicates there and change nothing.
            logger.info("partition revoked before commit", metadata: ["partition": "\(received.partition)"])
        } catch let error as KafkaError where error.code != .fatal && error.code != .shutDown {
            // A failed commit (e.g. during a rebalance) only means this message may be delivered
            // again, which the version discipline makes harmless: keep consuming.
            ConsumerMetrics.failed(.kafka, .commit)
            logger.warning(
                "offset commit failed",
                metadata: ["partition": "\(received.partition)", "error": "\(error)"]
            )
        }
    }
}
