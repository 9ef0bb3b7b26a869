/// One message of a `PublishBatch` request.
public struct SNSPublishEntry: Sendable, Hashable {
    /// The message text (at most 256 KiB with its attributes).
    public var message: String
    /// Typed attributes; with raw delivery they become the SQS message's attributes.
    public var attributes: [String: AWSMessageAttribute]
    /// FIFO topics only: messages of one group are delivered in order.
    public var messageGroupID: String?
    /// FIFO topics only: a second message with this id within five minutes is dropped.
    public var deduplicationID: String?

    /// Creates an entry.
    public init(
        message: String,
        attributes: [String: AWSMessageAttribute] = [:],
        messageGroupID: String? = nil,
        deduplicationID: String? = nil
    ) {
        self.message = message
        self.attributes = attributes
        self.messageGroupID = messageGroupID
        self.deduplicationID = deduplicationID
    }

    /// The entry's Query parameters, under `prefix` (e.g. `PublishBatchRequestEntries.member.1`).
    func parameters(prefix: String) -> [(String, String)] {
        let dot = prefix.isEmpty ? "" : "\(prefix)."
        var parameters = [("\(dot)Message", self.message)]
        if let messageGroupID { parameters.append(("\(dot)MessageGroupId", messageGroupID)) }
        if let deduplicationID { parameters.append(("\(dot)MessageDeduplicationId", deduplicationID)) }
        return parameters + SNSClient.attributeParameters("\(dot)MessageAttributes", self.attributes)
    }
}
