extension SQSClient {
    /// The most entries one batch request may carry.
    public static let maximumBatchSize = 10
    /// The longest long poll SQS allows.
    public static let maximumWaitTimeSeconds = 20
    /// What `receiveMessages` asks for by default: every system attribute.
    public static let allAttributes = ["All"]

    /// Sends one message; returns its message id.
    @discardableResult
    public func sendMessage(queueURL: String, _ entry: SQSSendEntry) async throws -> String {
        try await self.call(
            "SendMessage",
            SQSWire.SendMessage(queueURL: queueURL, entry),
            as: SQSWire.SendMessageOutput.self
        ).MessageId
    }

    /// Sends up to 10 messages in one request, with entry ids `"0"`, `"1"`, ... in order; entries may
    /// fail one by one (see `AWSBatchResult.failed`).
    public func sendMessageBatch(queueURL: String, entries: [SQSSendEntry]) async throws -> AWSBatchResult {
        try await self.sendMessageBatch(
            queueURL: queueURL,
            identified: entries.enumerated().map { (String($0.offset), $0.element) }
        )
    }

    /// Sends up to 10 messages with the caller's entry ids.
    public func sendMessageBatch(queueURL: String, identified entries: [(id: String, entry: SQSSendEntry)])
        async throws -> AWSBatchResult
    {
        precondition(entries.count <= Self.maximumBatchSize, "SendMessageBatch takes at most 10 entries")
        guard !entries.isEmpty else { return AWSBatchResult() }
        return try await self.call(
            "SendMessageBatch",
            SQSWire.Batch(
                QueueUrl: queueURL,
                Entries: entries.map { SQSWire.SendMessageBatchEntry(id: $0.id, $0.entry) }
            ),
            as: SQSWire.BatchOutput.self
        ).result
    }

    /// Sends any number of messages in order, 10 per request, retrying entries that failed
    /// retryably; throws `AWSBatchError` (keys: the entries' indexes in `entries`) if some failed for good.
    public func sendMessages(queueURL: String, _ entries: [SQSSendEntry]) async throws {
        let failures = try await self.inBatches(Array(entries.enumerated()), operation: "SendMessageBatch") { batch in
            try await self.sendMessageBatch(queueURL: queueURL, identified: batch.map { ($0.id, $0.entry.element) })
        }
        if !failures.isEmpty {
            throw AWSBatchError(
                operation: "SendMessageBatch",
                failures: failures.map { .init(key: String($0.entry.offset), failure: $0.failure) }
            )
        }
    }

    /// Receives up to `maxMessages` (1...10) messages, waiting up to `waitTimeSeconds` (0...20) for
    /// the first; an empty array means none arrived. The request timeout is the wait time plus
    /// `requestTimeout`, and cancelling the task ends the wait at once.
    public func receiveMessages(
        queueURL: String,
        maxMessages: Int = 10,
        waitTimeSeconds: Int = 20,
        visibilityTimeout: Int? = nil,
        attributeNames: [String] = Self.allAttributes,
        messageAttributeNames: [String] = ["All"]
    ) async throws -> [SQSMessage] {
        let wait = min(max(waitTimeSeconds, 0), Self.maximumWaitTimeSeconds)
        let output = try await self.call(
            "ReceiveMessage",
            SQSWire.ReceiveMessage(
                QueueUrl: queueURL,
                MaxNumberOfMessages: min(max(maxMessages, 1), Self.maximumBatchSize),
                WaitTimeSeconds: wait,
                VisibilityTimeout: visibilityTimeout,
                MessageSystemAttributeNames: attributeNames,
                MessageAttributeNames: messageAttributeNames
            ),
            as: SQSWire.ReceiveMessageOutput.self,
            timeout: .seconds(wait) + self.requestTimeout
        )
        return (output.Messages ?? []).map { message in
            SQSMessage(
                messageID: message.MessageId,
                receiptHandle: message.ReceiptHandle,
                body: message.Body ?? "",
                attributes: message.Attributes ?? [:],
                messageAttributes: (message.MessageAttributes ?? [:]).mapValues(\.attribute)
            )
        }
    }

    /// Deletes one received message.
    public func deleteMessage(queueURL: String, receiptHandle: String) async throws {
        try await self.call("DeleteMessage", SQSWire.DeleteMessage(QueueUrl: queueURL, ReceiptHandle: receiptHandle))
    }

    /// Deletes up to 10 received messages in one request (entry ids `"0"`, `"1"`, ... in order).
    public func deleteMessageBatch(queueURL: String, receiptHandles: [String]) async throws -> AWSBatchResult {
        try await self.deleteMessageBatch(
            queueURL: queueURL,
            identified: receiptHandles.enumerated().map { (String($0.offset), $0.element) }
        )
    }

    /// Deletes up to 10 received messages with the caller's entry ids.
    public func deleteMessageBatch(queueURL: String, identified entries: [(id: String, receiptHandle: String)])
        async throws -> AWSBatchResult
    {
        precondition(entries.count <= Self.maximumBatchSize, "DeleteMessageBatch takes at most 10 entries")
        guard !entries.isEmpty else { return AWSBatchResult() }
        return try await self.call(
            "DeleteMessageBatch",
            SQSWire.Batch(
                QueueUrl: queueURL,
                Entries: entries.map { SQSWire.DeleteMessageBatchEntry(Id: $0.id, ReceiptHandle: $0.receiptHandle) }
            ),
            as: SQSWire.BatchOutput.self
        ).result
    }

    /// Deletes any number of received messages, 10 per request, retrying entries that failed
    /// retryably; throws `AWSBatchError` (keys: the receipt handles) if some failed for good, e.g.
    /// `ReceiptHandleIsInvalid` for a handle whose visibility timeout ran out.
    public func deleteMessages(queueURL: String, receiptHandles: [String]) async throws {
        let failures = try await self.inBatches(receiptHandles, operation: "DeleteMessageBatch") { batch in
            try await self.deleteMessageBatch(queueURL: queueURL, identified: batch.map { ($0.id, $0.entry) })
        }
        if !failures.isEmpty {
            throw AWSBatchError(
                operation: "DeleteMessageBatch",
                failures: failures.map { .init(key: $0.entry, failure: $0.failure) }
            )
        }
    }

    /// Makes a received message invisible for `visibilityTimeout` seconds from now (0 releases it at once).
    public func changeMessageVisibility(queueURL: String, receiptHandle: String, visibilityTimeout: Int) async throws {
        try await self.call(
            "ChangeMessageVisibility",
            SQSWire.ChangeMessageVisibility(
                QueueUrl: queueURL,
                ReceiptHandle: receiptHandle,
                VisibilityTimeout: visibilityTimeout
            )
        )
    }

    /// Changes the visibility of up to 10 received messages (entry ids `"0"`, `"1"`, ... in order).
    public func changeMessageVisibilityBatch(
        queueURL: String,
        receiptHandles: [String],
        visibilityTimeout: Int
    ) async throws -> AWSBatchResult {
        precondition(receiptHandles.count <= Self.maximumBatchSize, "ChangeMessageVisibilityBatch takes at most 10")
        guard !receiptHandles.isEmpty else { return AWSBatchResult() }
        return try await self.call(
            "ChangeMessageVisibilityBatch",
            SQSWire.Batch(
                QueueUrl: queueURL,
                Entries: receiptHandles.enumerated().map {
                    SQSWire.ChangeMessageVisibilityBatchEntry(
                        Id: String($0.offset),
                        ReceiptHandle: $0.element,
                        VisibilityTimeout: visibilityTimeout
                    )
                }
            ),
            as: SQSWire.BatchOutput.self
        ).result
    }

    /// Runs `send` on chunks of 10 in order, retrying failed entries; returns those that failed for good.
    private func inBatches<Entry: Sendable>(
        _ entries: [Entry],
        operation: String,
        _ send: ([(id: String, entry: Entry)]) async throws -> AWSBatchResult
    ) async throws -> [(entry: Entry, failure: AWSBatchFailure)] {
        let retrier = AWSBatchRetrier(policy: self.retryPolicy, logger: self.executor.logger)
        var failures: [(entry: Entry, failure: AWSBatchFailure)] = []
        for start in stride(from: 0, to: entries.count, by: Self.maximumBatchSize) {
            let chunk = Array(entries[start..<min(start + Self.maximumBatchSize, entries.count)])
            failures += try await retrier.send(chunk, operation: operation, send)
        }
        return failures
    }
}
