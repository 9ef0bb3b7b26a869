/// A message received from a queue; delete it with its `receiptHandle` once processed.
public struct SQSMessage: Sendable, Hashable {
    /// The id SQS assigned when the message was sent.
    public var messageID: String
    /// The handle of this receipt, needed to delete it or change its visibility.
    public var receiptHandle: String
    /// The body: the bare message (raw delivery) or SNS's JSON notification envelope.
    public var body: String
    /// System attributes: `ApproximateReceiveCount`, `SentTimestamp`, `MessageGroupId`, ...
    public var attributes: [String: String]
    /// The sender's typed attributes.
    public var messageAttributes: [String: AWSMessageAttribute]

    /// Creates a message (the client does; tests may too).
    public init(
        messageID: String,
        receiptHandle: String,
        body: String,
        attributes: [String: String] = [:],
        messageAttributes: [String: AWSMessageAttribute] = [:]
    ) {
        self.messageID = messageID
        self.receiptHandle = receiptHandle
        self.body = body
        self.attributes = attributes
        self.messageAttributes = messageAttributes
    }

    /// How often the message was received, this time included.
    public var receiveCount: Int? { self.attributes["ApproximateReceiveCount"].flatMap { Int($0) } }
    /// When it was sent, in milliseconds since 1970.
    public var sentTimestampMilliseconds: Int64? { self.attributes["SentTimestamp"].flatMap { Int64($0) } }
    /// The FIFO message group.
    public var messageGroupID: String? { self.attributes["MessageGroupId"] }
    /// The value of String (or Number) message attribute `name`.
    public func stringAttribute(_ name: String) -> String? { self.messageAttributes[name]?.stringValue }
}
