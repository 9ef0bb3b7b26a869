/// A consumed message with where it came from; commit it through the subscriber after processing.
public struct ReceivedMessage: Sendable, Hashable {
    /// The message as it was published.
    public var message: BusMessage
    /// The topic it was read from.
    public var topic: String
    /// The partition it was read from.
    public var partition: Int32
    /// Its offset in that partition; committing it stores `offset + 1`.
    public var offset: Int64
    /// The generation of the assignment under which the subscriber polled it (0: made elsewhere).
    var assignmentGeneration: UInt64 = 0

    /// Creates a received message (the subscriber does this; tests and fakes may too).
    public init(message: BusMessage, topic: String, partition: Int32, offset: Int64) {
        self.message = message
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }

    var topicPartition: TopicPartition { TopicPartition(topic: self.topic, partition: self.partition) }
}
