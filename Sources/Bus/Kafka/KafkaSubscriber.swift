public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import ServiceLifecycle

/// Consumes one Kafka topic as a member of a consumer group, with manual commits.
///
/// The run loop polls all the time: when the consumer falls behind (`bufferHighWatermark`), it
/// pauses the assigned partitions instead of stopping to poll, so rebalances, commit answers and
/// `max.poll.interval.ms` are served while the consumer is busy. A commit is asynchronous and
/// bounded by `commitTimeout`. Each message remembers the assignment it was polled under: once
/// its partition is revoked (even if it comes back), the sequence drops it and its commit is
/// refused with `partitionRevoked`.
///
/// Rebalancing is eager by default (`range,roundrobin`): every rebalance revokes the whole
/// assignment before the new one is handed out. Setting `partition.assignment.strategy` to
/// `cooperative-sticky` in `extra` switches to incremental rebalancing; both are tracked.
public final class KafkaSubscriber: Service {
    private typealias MessageBuffer = NIOThrowingAsyncSequenceProducer<
        ReceivedMessage, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand
    >

    private let configuration: KafkaConfiguration
    private let logger: Logger
    private let client: RDKafkaClient
    private let state: NIOLockedValueBox<SubscriberStateMachine>
    private let sequence: MessageBuffer
    private let source: MessageBuffer.Source

    /// Creates the consumer for `groupID`; it joins the group when `run()` starts.
    public init(configuration: KafkaConfiguration, groupID: String, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "kafka.topic"] = "\(configuration.topic)"
        logger[metadataKey: "kafka.group"] = "\(groupID)"
        let state = NIOLockedValueBox(SubscriberStateMachine())
        let client = try RDKafkaClient.makeConsumer(
            settings: configuration.consumerSettings(groupID: groupID),
            logger: logger
        ) { event in
            switch event {
            case .assigned(let partitions): state.withLockedValue { $0.assigned(partitions) }
            case .revoked(let partitions): state.withLockedValue { $0.revoked(partitions) }
            case .delivered: break
            }
        }
        let buffer = MessageBuffer.makeSequence(
            backPressureStrategy: .init(
                lowWatermark: configuration.bufferLowWatermark,
                highWatermark: configuration.bufferHighWatermark
            ),
            // A subscriber that is dropped without ever running still ends its sequence.
            finishOnDeinit: true,
            delegate: Demand(state: state, client: client)
        )
        self.configuration = configuration
        self.logger = logger
        self.client = client
        self.state = state
        self.sequence = buffer.sequence
        self.source = buffer.source
    }

    /// The received messages, in order per partition; one iterator only.
    ///
    /// The assigned partitions are paused while `bufferHighWatermark` messages wait here. Messages
    /// of a partition revoked since they were polled are dropped, not delivered. The sequence ends
    /// when `run()` returns; dropping its iterator closes the consumer.
    public var messages: some AsyncSequence<ReceivedMessage, any Error> {
        let state = self.state
        return self.sequence.filter { message in
            state.withLockedValue { state in
                if state.isCurrent(message) { return true }
                state.dropped()
                return false
            }
        }
    }

    /// Whether `message` still belongs to this member's assignment: false once its partition was
    /// revoked since it was received (its new owner receives it again), even if it came back.
    public func isCurrent(_ message: ReceivedMessage) -> Bool {
        self.state.withLockedValue { $0.isCurrent(message) }
    }

    /// The partitions of the topic currently assigned to this member (none during an eager rebalance).
    public var assignedPartitions: [Int32] {
        self.state.withLockedValue { state in
            state.assignment.filter { $0.topic == self.configuration.topic }.map(\.partition).sorted()
        }
    }

    /// Commits `message.offset + 1` for its partition and waits, at most `commitTimeout`, for
    /// the coordinator to accept it. The poll loop goes on meanwhile.
    ///
    /// Throws `KafkaError` with code `.partitionRevoked` if the partition is no longer assigned to
    /// this member, was revoked since the message was received, or the group rebalanced under the
    /// commit: the partition's owner will receive the message again. Throws `.commitTimedOut` when
    /// the coordinator did not answer in time.
    public func commit(_ message: ReceivedMessage) async throws {
        let partition = message.topicPartition
        let generation = message.assignmentGeneration
        let state = self.state
        try state.withLockedValue { try $0.checkCommit(partition, generation: generation) }
        try await self.client.commit(partition, offset: message.offset + 1, timeout: self.configuration.commitTimeout) {
            try state.withLockedValue { try $0.checkCommit(partition, generation: generation) }
        }
        state.withLockedValue { $0.didCommit(partition, offset: message.offset + 1, generation: generation) }
    }

    /// The consumer lag of each partition assigned to this member now: messages after the
    /// group's committed offset up to the high watermark (from the oldest kept message when the
    /// group has committed nothing), the standard lag of Kafka's tools.
    ///
    /// Mostly non-blocking: librdkafka's cached watermarks (refreshed by every fetch) and the
    /// offsets this member committed itself. The coordinator is asked for a partition's committed
    /// offset once per assignment, and the leader for its watermarks while none is cached or the
    /// partitions are paused, each bounded by `timeout`, on the client's thread (the poll waits
    /// meanwhile). A revoked partition is no longer reported; none are while the group rebalances.
    public func lag(timeout: Duration = .seconds(2)) async throws -> [PartitionLag] {
        let state = self.state
        let offsets = try await self.client.assignedOffsets(timeout: timeout) { partition in
            state.withLockedValue { $0.generation(of: partition) }
        } needsCommitted: { partition, generation in
            state.withLockedValue { $0.needsCommitted(partition, generation: generation) }
        }
        return state.withLockedValue { state in
            offsets.compactMap { offsets in
                guard state.generation(of: offsets.partition) == offsets.generation else { return nil }
                if offsets.askedCommitted {
                    state.learned(committed: offsets.committed, for: offsets.partition, generation: offsets.generation)
                }
                // Unknown (the coordinator did not say): not reported rather than guessed.
                guard let committed = state.committedOffset(offsets.partition) else { return nil }
                return PartitionLag(
                    partition: offsets.partition,
                    high: offsets.high,
                    committed: committed,
                    messages: max(0, offsets.high - (committed ?? offsets.low))
                )
            }
        }
    }

    /// The oldest offset the brokers still keep (`low`) and the next one they will write (`high`),
    /// per partition of the topic, asked of each partition's leader.
    public func watermarks(partitions: [Int32], timeout: Duration = .seconds(10)) async throws -> [Int32: Watermarks] {
        var result: [Int32: Watermarks] = [:]
        for partition in partitions {
            let (low, high) = try await self.client.queryWatermarks(
                topic: self.configuration.topic,
                partition: partition,
                timeout: timeout
            )
            result[partition] = Watermarks(low: low, high: high)
        }
        return result
    }

    /// Joins the group and polls until graceful shutdown, cancellation or the iterator is dropped;
    /// then leaves the group (waiting at most `consumerCloseTimeout`, then going on in the
    /// background, see `RDKafkaClient.close`) and destroys the consumer.
    public func run() async throws {
        try self.state.withLockedValue { try $0.run() }
        var failure: (any Error)?
        do {
            try await self.client.subscribe(topic: self.configuration.topic)
            try await withGracefulShutdownHandler {
                try await self.pollUntilClosing()
            } onGracefulShutdown: {
                self.state.withLockedValue { $0.beginClosing() }
                self.client.wakeUp()
            }
        } catch {
            self.logger.error("consuming failed", metadata: ["error": "\(error)"])
            failure = error
        }
        let outcome = await self.client.close(consumerCloseTimeout: self.configuration.consumerCloseTimeout)
        self.closed.withLockedValue { $0 = outcome }
        self.state.withLockedValue { $0.finish() }
        if let failure {
            self.source.finish(failure)
            throw failure
        }
        self.source.finish()
    }

    /// At most one high watermark per poll, so the buffer never holds more than twice that.
    private var batchSize: Int { max(1, min(100, self.configuration.bufferHighWatermark)) }

    /// How the consumer's close ended; nil until `run` has closed it.
    var closeOutcome: RDKafkaClient.CloseOutcome? { self.closed.withLockedValue { $0 } }
    private let closed = NIOLockedValueBox<RDKafkaClient.CloseOutcome?>(nil)

    /// Whether the consumer's handle has been destroyed (after a close in the background, later
    /// than `run` returning).
    var isDestroyed: Bool { self.client.isDestroyed }

    /// How many messages the run loop has put into the buffer so far.
    var bufferedTotal: Int { self.state.withLockedValue { $0.bufferedTotal } }

    /// How many stale messages (of partitions revoked since they were polled) were dropped so far.
    var droppedTotal: Int { self.state.withLockedValue { $0.droppedTotal } }

    /// Whether the consumer's partitions are paused for back-pressure now.
    var isPaused: Bool { self.state.withLockedValue { $0.paused } }

    /// Polls until closing. While the buffer is full the partitions are paused and the loop goes
    /// on polling, which serves rebalances and resets `max.poll.interval.ms`; `produceMore` wakes
    /// the poll up so they are resumed at once.
    private func pollUntilClosing() async throws {
        let state = self.state
        while !Task.isCancelled {
            guard case .poll(let epoch, let paused) = state.withLockedValue({ $0.nextPollAction() }) else { return }
            let batch = try await self.client.consumerPoll(
                maxMessages: self.batchSize,
                timeout: self.configuration.pollTimeout,
                paused: paused
            ) { partition in
                state.withLockedValue { $0.generation(of: partition) }
            }
            if batch.isEmpty { continue }
            let result = self.source.yield(contentsOf: batch)
            state.withLockedValue { $0.didBuffer(batch.count) }
            switch result {
            case .produceMore:
                continue
            case .stopProducing:
                state.withLockedValue { $0.bufferFull(epoch: epoch) }
            case .dropped:
                return
            }
        }
    }
}

extension KafkaSubscriber {
    /// Relays the buffer's demand to the state machine.
    fileprivate struct Demand: NIOAsyncSequenceProducerDelegate {
        let state: NIOLockedValueBox<SubscriberStateMachine>
        let client: RDKafkaClient

        func produceMore() {
            if self.state.withLockedValue({ $0.produceMore() }) {
                self.client.wakeUp()
            }
        }

        func didTerminate() {
            self.state.withLockedValue { $0.beginClosing() }
            self.client.wakeUp()
        }
    }
}

/// How far the group is behind in one partition (`KafkaSubscriber.lag`).
public struct PartitionLag: Sendable, Hashable {
    public var partition: TopicPartition
    /// The offset the next message will get (the high watermark).
    public var high: Int64
    /// The offset the group committed (the next to read); nil when it committed nothing yet.
    public var committed: Int64?
    /// Messages after the committed offset (after the oldest kept one, without a commit).
    public var messages: Int64

    public init(partition: TopicPartition, high: Int64, committed: Int64?, messages: Int64) {
        self.partition = partition
        self.high = high
        self.committed = committed
        self.messages = messages
    }
}

/// A partition's offsets as the brokers keep them: `low` is the oldest message still held (older
/// ones were deleted by retention), `high` the offset the next message will get.
public struct Watermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }

    /// Messages a consumer starting from the beginning can still read.
    public var available: Int64 { self.high - self.low }
}
