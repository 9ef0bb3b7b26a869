extension SNSClient {
    /// The most entries one `PublishBatch` request may carry.
    public static let maximumBatchSize = 10

    /// Publishes one message and returns its message id.
    public func publish(topicARN: String, _ entry: SNSPublishEntry) async throws -> String {
        let result = try await self.call("Publish", [("TopicArn", topicARN)] + entry.parameters(prefix: ""))
        return try Self.required(result.child("MessageId")?.text, "MessageId", "Publish")
    }

    /// Publishes up to 10 messages in one request, with entry ids `"0"`, `"1"`, ... in order;
    /// entries may fail one by one (see `AWSBatchResult.failed`).
    public func publishBatch(topicARN: String, entries: [SNSPublishEntry]) async throws -> AWSBatchResult {
        try await self.publishBatch(
            topicARN: topicARN,
            identified: entries.enumerated().map { (String($0.offset), $0.element) }
        )
    }

    /// Publishes up to 10 messages with the caller's entry ids (unique, at most 80 of `[A-Za-z0-9_-]`).
    public func publishBatch(topicARN: String, identified entries: [(id: String, entry: SNSPublishEntry)])
        async throws -> AWSBatchResult
    {
        precondition(entries.count <= Self.maximumBatchSize, "PublishBatch takes at most 10 entries")
        guard !entries.isEmpty else { return AWSBatchResult() }
        var parameters = [("TopicArn", topicARN)]
        for (index, item) in entries.enumerated() {
            let prefix = "PublishBatchRequestEntries.member.\(index + 1)"
            parameters.append(("\(prefix).Id", item.id))
            parameters += item.entry.parameters(prefix: prefix)
        }
        let result = try await self.call("PublishBatch", parameters)
        return AWSBatchResult(
            successful: result.child("Successful")?.children("member").compactMap { $0.child("Id")?.text } ?? [],
            failed: result.child("Failed")?.children("member").map { member in
                AWSBatchFailure(
                    id: member.child("Id")?.text ?? "",
                    code: member.child("Code")?.text ?? "Unknown",
                    message: member.child("Message")?.text ?? "",
                    senderFault: member.child("SenderFault")?.text.lowercased() == "true"
                )
            } ?? []
        )
    }
}
