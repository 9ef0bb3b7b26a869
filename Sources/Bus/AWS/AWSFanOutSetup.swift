/// Creates, idempotently, what the SNS/SQS fan-out needs: the topic, the projectors' queue with
/// a dead-letter queue and redrive policy, the queue policy that lets the topic send, and the
/// raw-delivery subscription. `almanac aws-setup` and the tests use it.
public enum AWSFanOutSetup {
    /// What was created (or found).
    public struct Resources: Sendable, Hashable {
        public var topicARN: String
        public var queueURL: String
        public var queueARN: String
        public var deadLetterQueueURL: String
        public var deadLetterQueueARN: String
        public var subscriptionARN: String
    }

    /// Names: `<prefix>` (topic), `<prefix>-projector` and `<prefix>-projector-dlq` (queues), with
    /// `.fifo` appended for FIFO.
    public static func create(
        sns: SNSClient,
        sqs: SQSClient,
        namePrefix: String,
        fifo: Bool,
        maxReceiveCount: Int
    ) async throws -> Resources {
        let suffix = fifo ? ".fifo" : ""
        let queueAttributes = fifo ? ["FifoQueue": "true"] : [:]
        let topicARN = try await sns.createTopic(name: namePrefix + suffix, fifo: fifo)
        let deadLetterURL = try await sqs.createQueue(
            name: "\(namePrefix)-projector-dlq\(suffix)",
            attributes: queueAttributes
        )
        let deadLetterARN = try await queueARN(sqs, deadLetterURL)
        // Created with its kind only, then configured: CreateQueue fails on an existing queue whose
        // attributes differ, SetQueueAttributes brings them up to date.
        let queueURL = try await sqs.createQueue(name: "\(namePrefix)-projector\(suffix)", attributes: queueAttributes)
        let queueARN = try await queueARN(sqs, queueURL)
        try await sqs.setQueueAttributes(
            queueURL: queueURL,
            attributes: [
                "RedrivePolicy": SQSQueueAttributes.redrivePolicy(
                    deadLetterQueueARN: deadLetterARN,
                    maxReceiveCount: maxReceiveCount
                ),
                "Policy": SQSQueueAttributes.allowTopicPolicy(queueARN: queueARN, topicARN: topicARN),
            ]
        )
        let subscriptionARN = try await sns.subscribe(
            topicARN: topicARN,
            endpoint: queueARN,
            attributes: ["RawMessageDelivery": "true"]
        )
        return Resources(
            topicARN: topicARN,
            queueURL: queueURL,
            queueARN: queueARN,
            deadLetterQueueURL: deadLetterURL,
            deadLetterQueueARN: deadLetterARN,
            subscriptionARN: subscriptionARN
        )
    }

    /// The ARN of a queue.
    public static func queueARN(_ sqs: SQSClient, _ queueURL: String) async throws -> String {
        guard let arn = try await sqs.getQueueAttributes(queueURL: queueURL, names: ["QueueArn"])["QueueArn"] else {
            throw AWSError(
                code: .invalidResponse,
                message: "no QueueArn for \(queueURL)",
                operation: "GetQueueAttributes"
            )
        }
        return arn
    }
}
