public import Logging

/// Publishes bus messages to one SNS topic, in `PublishBatch` requests of 10.
///
/// On a FIFO topic (name ending in `.fifo`) `MessageGroupId` is the message's key (the user), so one
/// user's events stay in order, and `MessageDeduplicationId` its event id, so a re-publish within
/// five minutes is dropped. Every message carries `event_id` and `stream_id` String attributes,
/// which raw delivery turns into SQS message attributes.
public struct SNSPublisher: EventPublisher {
    /// The attribute carrying `BusMessage.eventID`.
    public static let eventIDAttribute = "event_id"
    /// The attribute carrying `BusMessage.key`.
    public static let streamIDAttribute = "stream_id"

    /// The client requests go through.
    public let client: SNSClient
    /// The topic published to.
    public let topicARN: String
    /// Whether the topic is FIFO (group and deduplication ids are sent).
    public let isFIFO: Bool
    private let retrier: AWSBatchRetrier

    /// Creates a publisher; `fifo` defaults to whether the ARN ends in `.fifo`. Failed entries are
    /// retried with `entryRetryPolicy` (whole requests with the client's own policy).
    public init(
        client: SNSClient,
        topicARN: String,
        fifo: Bool? = nil,
        entryRetryPolicy: AWSRetryPolicy? = nil,
        logger: Logger
    ) {
        self.client = client
        self.topicARN = topicARN
        self.isFIFO = fifo ?? topicARN.hasSuffix(".fifo")
        self.retrier = AWSBatchRetrier(policy: entryRetryPolicy ?? client.retryPolicy, logger: logger)
    }

    /// Publishes `messages` in order, 10 per request, and returns once SNS accepted every one.
    ///
    /// Entries that fail retryably (throttling, the service's fault) are sent again with backoff
    /// before the next batch goes out. Throws `AWSBatchError` naming the event ids of the entries
    /// that failed for good, after the rest of their batch was accepted, or the `AWSError` of a request
    /// that still failed after the client's retries; later batches are not sent either way, and
    /// publishing the same messages again is safe (FIFO deduplication, the projector's version check).
    /// A retried entry may land after later ones of its group: consumers order by stream version.
    public func publish(_ messages: [BusMessage]) async throws {
        var start = messages.startIndex
        while start < messages.endIndex {
            let end = min(start + SNSClient.maximumBatchSize, messages.endIndex)
            let batch = try messages[start..<end].map { message in (message.eventID, try self.entry(for: message)) }
            let failures = try await self.retrier.send(batch, operation: "PublishBatch") { pending in
                try await self.client.publishBatch(
                    topicARN: self.topicARN,
                    identified: pending.map { (id: $0.id, entry: $0.entry.1) }
                )
            }
            if !failures.isEmpty {
                throw AWSBatchError(
                    operation: "PublishBatch",
                    failures: failures.map { AWSBatchError.Failure(key: $0.entry.0, failure: $0.failure) }
                )
            }
            start = end
        }
    }

    /// The entry of one message: its payload as text, attributes, and on FIFO the group and dedup ids.
    func entry(for message: BusMessage) throws -> SNSPublishEntry {
        guard let text = String(validating: message.payload, as: UTF8.self) else {
            throw AWSError(
                code: .invalidParameter,
                message: "the payload of event \(message.eventID) is not UTF-8 text",
                operation: "PublishBatch"
            )
        }
        return SNSPublishEntry(
            message: text,
            attributes: [
                Self.eventIDAttribute: .string(message.eventID), Self.streamIDAttribute: .string(message.key),
            ],
            messageGroupID: self.isFIFO ? message.key : nil,
            deduplicationID: self.isFIFO ? message.eventID : nil
        )
    }
}
