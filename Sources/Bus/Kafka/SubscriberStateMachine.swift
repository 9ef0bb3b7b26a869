/// The subscriber's state: lifecycle, the group's assignment and the consumer's demand (back-pressure).
///
/// Transitions never resume a continuation; they return it so the caller resumes it outside the lock.
struct SubscriberStateMachine {
    typealias Wakeup = CheckedContinuation<Void, Never>

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
    /// The run loop, parked while the buffer is full.
    private var parked: Wakeup?
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
        /// Poll, remembering the demand epoch seen before yielding the result.
        case poll(epoch: UInt64)
        /// Stop polling and close the consumer.
        case close
    }

    func nextPollAction() -> PollAction {
        self.lifecycle == .running ? .poll(epoch: self.demandEpoch) : .close
    }

    enum ParkAction {
        /// Demand arrived meanwhile (or the loop must close): resume the run loop right away.
        case resume(Wakeup)
        /// Stay parked until `produceMore`, shutdown or termination returns the wakeup.
        case park
    }

    /// A polled batch went into the buffer.
    mutating func didBuffer(_ count: Int) {
        self.bufferedTotal += count
    }

    /// The buffer reported `stopProducing` for a batch yielded after `nextPollAction` returned `epoch`.
    mutating func park(_ wakeup: Wakeup, epoch: UInt64) -> ParkAction {
        guard self.lifecycle == .running, self.demandEpoch == epoch else { return .resume(wakeup) }
        precondition(self.parked == nil, "only the run loop parks")
        self.parked = wakeup
        return .park
    }

    /// The consumer drained the buffer below the low watermark.
    mutating func produceMore() -> Wakeup? {
        self.demandEpoch &+= 1
        return self.takeParked()
    }

    /// Graceful shutdown was requested, or the consumer dropped the sequence.
    mutating func beginClosing() -> Wakeup? {
        if self.lifecycle == .running || self.lifecycle == .initial {
            self.lifecycle = .closing
        }
        return self.takeParked()
    }

    /// The consumer is closed and destroyed.
    mutating func finish() -> Wakeup? {
        self.lifecycle = .finished
        self.assignment = []
        return self.takeParked()
    }

    private mutating func takeParked() -> Wakeup? {
        defer { self.parked = nil }
        return self.parked
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
