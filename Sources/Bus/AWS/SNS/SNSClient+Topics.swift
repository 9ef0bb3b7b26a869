extension SNSClient {
    /// Creates a topic, or returns the ARN of the existing one with the same name and attributes.
    ///
    /// A FIFO topic's name must end in `.fifo`; pass `["FifoTopic": "true"]` (and optionally
    /// `"ContentBasedDeduplication": "true"`), or use `createTopic(name:fifo:contentBasedDeduplication:)`.
    public func createTopic(name: String, attributes: [String: String] = [:]) async throws -> String {
        let result = try await self.call("CreateTopic", [("Name", name)] + Self.mapParameters("Attributes", attributes))
        return try Self.required(result.child("TopicArn")?.text, "TopicArn", "CreateTopic")
    }

    /// Creates (or finds) a standard or FIFO topic; a FIFO name must end in `.fifo`.
    public func createTopic(name: String, fifo: Bool, contentBasedDeduplication: Bool = false) async throws -> String {
        var attributes: [String: String] = [:]
        if fifo {
            attributes["FifoTopic"] = "true"
            if contentBasedDeduplication { attributes["ContentBasedDeduplication"] = "true" }
        }
        return try await self.createTopic(name: name, attributes: attributes)
    }

    /// The topic's attributes (`FifoTopic`, `Policy`, `SubscriptionsConfirmed`, ...); `.notFound` if it does not exist.
    public func getTopicAttributes(topicARN: String) async throws -> [String: String] {
        try await self.call("GetTopicAttributes", [("TopicArn", topicARN)]).child("Attributes")?.entries ?? [:]
    }

    /// Sets one attribute of a topic.
    public func setTopicAttributes(topicARN: String, name: String, value: String) async throws {
        _ = try await self.call(
            "SetTopicAttributes",
            [("TopicArn", topicARN), ("AttributeName", name), ("AttributeValue", value)]
        )
    }

    /// Deletes a topic and its subscriptions; deleting a missing topic succeeds.
    public func deleteTopic(topicARN: String) async throws {
        _ = try await self.call("DeleteTopic", [("TopicArn", topicARN)])
    }

    static func required(_ value: String?, _ field: String, _ operation: String) throws -> String {
        guard let value, !value.isEmpty else {
            throw AWSError(code: .invalidResponse, message: "the response has no \(field)", operation: operation)
        }
        return value
    }
}
