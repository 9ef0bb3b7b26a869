/// One message to send to a queue.
public struct SQSSendEntry: Sendable, Hashable {
    /// The body (at most 256 KiB with the attributes).
    public var body: String
    /// Typed attributes.
    public var attributes: [String: AWSMessageAttribute]
    /// FIFO queues only: messages of one group are delivered in order.
    public var messageGroupID: String?
    /// FIFO queues only (unless content-based deduplication is on): duplicates within five minutes are dropped.
    public var deduplicationID: String?
    /// Standard queues only: seconds (up to 900) before the message becomes visible.
    public var delaySeconds: Int?

    /// Creates an entry.
    public init(
        body: String,
        attributes: [String: AWSMessageAttribute] = [:],
        messageGroupID: String? = nil,
        deduplicationID: String? = nil,
        delaySeconds: Int? = nil
    ) {
        self.body = body
        self.attributes = attributes
        self.messageGroupID = messageGroupID
        self.deduplicationID = deduplicationID
        self.delaySeconds = delaySeconds
    }
}
