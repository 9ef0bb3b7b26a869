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
    /// The assigned partitions, each with the generation of the rebalance that assigned it.
    ///
    /// A message carries the generation of its partition when it was polled; once the partition
    /// is revoked by a rebalance (and even if it comes back, under a new generation) the message is
    /// stale: it is dropped before the consumer sees it, and its offset cannot be committed.
    private var generations: [TopicPartition: UInt64] = [:]
    /// The last generation at the time each partition was revoked by a rebalance while running:
    /// messages polled under that generation or an earlier one are stale. (The revocation of
    /// `rd_kafka_consumer_close` is not recorded: on shutdown, buffered messages still drain, and
    /// their commits are refused because the partitions are no longer assigned.)
    private var revokedAt: [TopicPartition: UInt64] = [:]
    /// The group's committed offset of each assigned partition, once known (from this member's
    /// own commits, or asked of the coordinator for a lag sample); `.some(nil)`: nothing committed.
    private var committed: [TopicPartition: Int64?] = [:]
    /// Bumped by every assignment.
    private var lastGeneration: UInt64 = 0
    /// Bumped by every `produceMore`, so a demand signal that races a full buffer is never lost.
    private var demandEpoch: UInt64 = 0
    /// The consumer wants nothing more for now: the run loop keeps the partitions paused.
    private(set) var paused = false
    /// Messages handed to the buffer so far (observability, and the back-pressure test).
    private(set) var bufferedTotal = 0
    /// Stale messages dropped so far.
    private(set) var droppedTotal = 0

    /// The partitions assigned now.
    var assignment: Set<TopicPartition> { Set(self.generations.keys) }

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
        self.generations = [:]
        self.committed = [:]
    }

    /// The rebalance callback assigned partitions (incrementally for cooperative, in full for eager).
    mutating func assigned(_ partitions: [TopicPartition]) {
        self.lastGeneration += 1
        for partition in partitions {
            self.generations[partition] = self.lastGeneration
            self.committed[partition] = nil
        }
    }

    /// The rebalance callback revoked partitions (or they were lost).
    mutating func revoked(_ partitions: [TopicPartition]) {
        for partition in partitions {
            self.generations[partition] = nil
            self.committed[partition] = nil
            if self.lifecycle == .running {
                self.revokedAt[partition] = self.lastGeneration
            }
        }
    }

    /// The generation under which `partition` is assigned now, if it is.
    func generation(of partition: TopicPartition) -> UInt64? {
        self.generations[partition]
    }

    /// Whether `message` is not stale: its partition was not revoked by a rebalance since it was
    /// polled (a message made outside the subscriber, with generation 0, is never stale).
    func isCurrent(_ message: ReceivedMessage) -> Bool {
        guard message.assignmentGeneration != 0, let revoked = self.revokedAt[message.topicPartition] else {
            return true
        }
        return revoked < message.assignmentGeneration
    }

    /// Counts a stale message the sequence dropped.
    mutating func dropped() {
        self.droppedTotal += 1
    }

    private static func matches(_ current: UInt64?, _ generation: UInt64) -> Bool {
        guard let current else { return false }
        return generation == 0 || generation == current
    }

    /// Throws unless an offset of `partition`, polled under `generation` (0: any), may be
    /// committed by this member now.
    func checkCommit(_ partition: TopicPartition, generation: UInt64 = 0) throws(KafkaError) {
        switch self.lifecycle {
        case .initial:
            throw KafkaError(code: .notRunning, message: "commit before run()")
        case .finished:
            throw KafkaError(code: .shutDown, message: "the subscriber has shut down")
        case .running, .closing:
            guard Self.matches(self.generations[partition], generation) else {
                let again = self.generations[partition] != nil
                throw KafkaError(
                    code: .partitionRevoked,
                    message: "\(partition.topic)[\(partition.partition)] "
                        + (again
                            ? "was revoked and assigned again since the message was received"
                            : "is not assigned to this member")
                )
            }
        }
    }

    // MARK: Committed offsets (consumer lag)

    /// The coordinator accepted `offset` for `partition`, committed for a message polled under
    /// `generation` (0: any).
    mutating func didCommit(_ partition: TopicPartition, offset: Int64, generation: UInt64) {
        guard Self.matches(self.generations[partition], generation) else { return }
        let known = self.committed[partition] ?? nil
        self.committed[partition] = max(known ?? offset, offset)
    }

    /// Whether the committed offset of `partition`, assigned under `generation`, is still unknown.
    func needsCommitted(_ partition: TopicPartition, generation: UInt64) -> Bool {
        self.generations[partition] == generation && self.committed.index(forKey: partition) == nil
    }

    /// The coordinator said `offset` (nil: nothing) is committed for `partition`, asked while it
    /// was assigned under `generation`; a commit of this member's since then is kept.
    mutating func learned(committed offset: Int64?, for partition: TopicPartition, generation: UInt64) {
        guard self.generations[partition] == generation, self.committed.index(forKey: partition) == nil else { return }
        self.committed[partition] = .some(offset)
    }

    /// The committed offset of `partition` if known: `.some(nil)` when nothing is committed.
    func committedOffset(_ partition: TopicPartition) -> Int64?? {
        self.committed[partition]
    }
}
