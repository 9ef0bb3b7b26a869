extension SNSClient {
    /// Subscribes `endpoint` (for `protocol` `sqs`, a queue ARN) to the topic and returns the
    /// subscription ARN; subscribing again with the same attributes returns the same ARN.
    ///
    /// Pass `["RawMessageDelivery": "true"]` to deliver the bare message instead of the JSON
    /// notification envelope.
    public func subscribe(
        topicARN: String,
        protocol: String = "sqs",
        endpoint: String,
        attributes: [String: String] = [:]
    ) async throws -> String {
        let result = try await self.call(
            "Subscribe",
            [
                ("TopicArn", topicARN), ("Protocol", `protocol`), ("Endpoint", endpoint),
                ("ReturnSubscriptionArn", "true"),
            ]
                + Self.mapParameters("Attributes", attributes)
        )
        return try Self.required(result.child("SubscriptionArn")?.text, "SubscriptionArn", "Subscribe")
    }

    /// Sets one attribute of a subscription (e.g. `RawMessageDelivery`, `FilterPolicy`, `RedrivePolicy`).
    public func setSubscriptionAttributes(subscriptionARN: String, name: String, value: String) async throws {
        _ = try await self.call(
            "SetSubscriptionAttributes",
            [("SubscriptionArn", subscriptionARN), ("AttributeName", name), ("AttributeValue", value)]
        )
    }

    /// The attributes of a subscription (`RawMessageDelivery`, `Endpoint`, `TopicArn`, ...).
    public func getSubscriptionAttributes(subscriptionARN: String) async throws -> [String: String] {
        try await self.call("GetSubscriptionAttributes", [("SubscriptionArn", subscriptionARN)])
            .child("Attributes")?.entries ?? [:]
    }

    /// Removes a subscription.
    public func unsubscribe(subscriptionARN: String) async throws {
        _ = try await self.call("Unsubscribe", [("SubscriptionArn", subscriptionARN)])
    }
}
