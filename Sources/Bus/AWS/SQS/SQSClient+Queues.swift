extension SQSClient {
    /// Creates a queue, or returns the URL of the existing one if its attributes match.
    ///
    /// A FIFO queue's name ends in `.fifo` and needs `FifoQueue=true`; see `SQSQueueAttributes` for
    /// building `RedrivePolicy` and `Policy` values.
    public func createQueue(name: String, attributes: [String: String] = [:]) async throws -> String {
        try await self.call(
            "CreateQueue",
            SQSWire.CreateQueue(QueueName: name, Attributes: attributes.isEmpty ? nil : attributes),
            as: SQSWire.QueueURLOutput.self
        ).QueueUrl
    }

    /// The URL of the queue named `name`; `.queueDoesNotExist` if there is none.
    public func getQueueURL(name: String, ownerAccountID: String? = nil) async throws -> String {
        try await self.call(
            "GetQueueUrl",
            SQSWire.QueueName(QueueName: name, QueueOwnerAWSAccountId: ownerAccountID),
            as: SQSWire.QueueURLOutput.self
        ).QueueUrl
    }

    /// The queue's attributes (`QueueArn`, `FifoQueue`, `RedrivePolicy`, `ApproximateNumberOfMessages`, ...).
    public func getQueueAttributes(queueURL: String, names: [String] = ["All"]) async throws -> [String: String] {
        try await self.call(
            "GetQueueAttributes",
            SQSWire.GetQueueAttributes(QueueUrl: queueURL, AttributeNames: names),
            as: SQSWire.AttributesOutput.self
        ).Attributes ?? [:]
    }

    /// Sets attributes of a queue (`Policy`, `RedrivePolicy`, `VisibilityTimeout`, ...).
    public func setQueueAttributes(queueURL: String, attributes: [String: String]) async throws {
        try await self.call(
            "SetQueueAttributes",
            SQSWire.SetQueueAttributes(QueueUrl: queueURL, Attributes: attributes)
        )
    }

    /// Deletes a queue and its messages.
    public func deleteQueue(queueURL: String) async throws {
        try await self.call("DeleteQueue", SQSWire.QueueURL(QueueUrl: queueURL))
    }

    /// Deletes every message of a queue.
    public func purgeQueue(queueURL: String) async throws {
        try await self.call("PurgeQueue", SQSWire.QueueURL(QueueUrl: queueURL))
    }
}
