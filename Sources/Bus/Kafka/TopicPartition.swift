/// One partition of one topic, as assigned by the consumer group.
struct TopicPartition: Sendable, Hashable {
    var topic: String
    var partition: Int32
}
