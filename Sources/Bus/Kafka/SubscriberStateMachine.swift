/// The subscriber's state: lifecycle, the group's assignment and the consumer's demand (back-pressure).
///
/// The run loop never stops polling (a consumer that is not polled serves no rebalance and leaves
/// the group after `max.poll.interval.ms`): when the consumer wants nothing more, the loop asks
/// librdkafka to pause the assigned partitions and goes on polling for rebalances and errors.
struct SubscriberStateMachine {
    enum Lifecycle: Equatable {
        case initial
        case running
        /// Graceful shutdown or the consumer went away: the run loop closes the consumer.
        case closing
        case finished
    }

    private(set) var lifecycle: Lifecycle = .initial
    private(set) var assignment: Set<TopicPartition> = []
    /// Bumped by every `produceMore`, so a demand signal that races a full buffer is never lost.
    private var demandEpoch: UInt64 = 0
    /// The consumer wants nothing more for now: the run loop keeps the partitions paused.
    private(set) var paused = false
    /// Messages handed to the buffer so far (observability, and the back-pressure test).
    private(set) var bufferedTotal = 0

    /// `run()` was called.
    mutating func run() throws(KafkaError) {
        switch self.lifecycle {
        case .initial:
            self.lifecycle = .running
        case .running, .closing:
            throw KafkaError(code: .alreadyRunning, message: "run() was called twice")
        case .finished:
            throw KafkaError(code: .shutDown, message: "the subscriber has shut down")
        }
    }

    enum PollAction: Equatable {
        /// Poll, remembering the demand epoch seen before yielding the result; with `paused`, the
        /// assigned partitions are paused first (the poll then serves rebalances and errors only).
        case poll(epoch: UInt64, paused: Bool)
        /// Stop polling and close the consumer.
        case close
    }

    func nextPollAction() -> PollAction {
        self.lifecycle == .running ? .poll(epoch: self.demandEpoch, paused: self.paused) : .close
    }

    /// A polled batch went into the buffer.
    mutating func didBuffer(_ count: Int) {
        self.bufferedTotal += count
    }

    /// The buffer reported `stopProducing` for a batch yielded after `nextPollAction` returned
    /// `epoch`: pause, unless demand arrived meanwhile.
    mutating func bufferFull(epoch: UInt64) {
        guard self.lifecycle == .running, self.demandEpoch == epoch else { return }
        self.paused = true
    }

    /// The consumer drained the buffer below the low watermark; returns whether the partitions
    /// were paused (the caller then wakes up the poll so they are resumed at once).
    mutating func produceMore() -> Bool {
        self.demandEpoch &+= 1
        defer { self.paused = false }
        return self.paused
    }

    /// Graceful shutdown was requested, or the consumer dropped the sequence.
    mutating func beginClosing() {
        if self.lifecycle == .running || self.lifecycle == .initial {
            self.lifecycle = .closing
        }
    }

    /// The consumer is closed and destroyed.
    mutating func finish() {
        self.lifecycle = .finished
        self.assignment = []
    }

    /// The rebalance callback assigned partitions (incrementally for cooperative, in full for eager).
    mutating func assigned(_ partitions: [TopicPartition]) {
        self.assignment.formUnion(partitions)
    }

    /// The rebalance callback revoked partitions (or they were lost).
    mutating func revoked(_ partitions: [TopicPartition]) {
        self.assignment.subtract(partitions)
    }

    /// Throws unless an offset of `partition` may be committed by this member now.
    func checkCommit(_ partition: TopicPartition) throws(KafkaError) {
        switch self.lifecycle {
        case .initial:
            throw KafkaError(code: .notRunning, message: "commit before run()")
        case .finished:
            throw KafkaError(code: .shutDown, message: "the subscriber has shut down")
        case .running, .closing:
            guard self.assignment.contains(partition) else {
                throw KafkaError(
                    code: .partitionRevoked,
                    message: "\(partition.topic)[\(partition.partition)] is not assigned to this member"
                )
            }
        }
    }
}
