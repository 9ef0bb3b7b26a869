import ArgumentParser
import Bus
import Logging

/// `almanac aws-setup`: the SNS/SQS fan-out, created idempotently, and how to run against it.
struct AWSSetup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aws-setup",
        abstract:
            "Create (or find) the SNS topic, the projector queue with its dead-letter queue, and the subscription.",
        discussion: """
            Safe to run again: every step finds what exists and brings its settings up to date. The queue \
            lets only this topic send to it (aws:SourceArn), the subscription uses raw message delivery, and \
            a message received --max-receive-count times without being deleted moves to the dead-letter queue.
            """
    )

    @Flag(help: "FIFO topic and queues: one user's events stay in order, duplicates within 5 minutes are dropped.")
    var fifo = false

    @Option(help: "Prefix of the names: <prefix> (topic), <prefix>-projector and <prefix>-projector-dlq (queues).")
    var namePrefix = "almanac-events"

    @Option(help: "Receives of one message before it moves to the dead-letter queue.")
    var maxReceiveCount = 5

    @OptionGroup var aws: AWSOptions

    func validate() throws {
        guard self.maxReceiveCount >= 1 else { throw ValidationError("--max-receive-count must be at least 1") }
    }

    func run() async throws {
        let logger = Logger.almanac()
        let suffix = self.fifo ? ".fifo" : ""
        let queueAttributes = self.fifo ? ["FifoQueue": "true"] : [:]
        try await self.aws.withClients(logger: logger) { sns, sqs in
            let topicARN = try await sns.createTopic(name: self.namePrefix + suffix, fifo: self.fifo)
            let deadLetterURL = try await sqs.createQueue(
                name: "\(self.namePrefix)-projector-dlq\(suffix)",
                attributes: queueAttributes
            )
            let deadLetterARN = try await Self.queueARN(sqs, deadLetterURL)
            // Created with its kind only, then configured: CreateQueue fails on an existing queue whose
            // attributes differ, SetQueueAttributes brings them up to date.
            let queueURL = try await sqs.createQueue(
                name: "\(self.namePrefix)-projector\(suffix)",
                attributes: queueAttributes
            )
            let queueARN = try await Self.queueARN(sqs, queueURL)
            try await sqs.setQueueAttributes(
                queueURL: queueURL,
                attributes: [
                    "RedrivePolicy": SQSQueueAttributes.redrivePolicy(
                        deadLetterQueueARN: deadLetterARN,
                        maxReceiveCount: self.maxReceiveCount
                    ),
                    "Policy": SQSQueueAttributes.allowTopicPolicy(queueARN: queueARN, topicARN: topicARN),
                ]
            )
            let subscriptionARN = try await sns.subscribe(
                topicARN: topicARN,
                endpoint: queueARN,
                attributes: ["RawMessageDelivery": "true"]
            )
            print(
                """
                TOPIC_ARN=\(topicARN)
                QUEUE_URL=\(queueURL)
                QUEUE_ARN=\(queueARN)
                DEAD_LETTER_QUEUE_URL=\(deadLetterURL)
                DEAD_LETTER_QUEUE_ARN=\(deadLetterARN)
                SUBSCRIPTION_ARN=\(subscriptionARN)

                Publish events (the relay):
                  almanac relay --bus sns --topic-arn \(topicARN)
                Project them (one or more projectors on the queue):
                  almanac project --source sqs --queue-url \(queueURL)
                Or both beside the API in one process:
                  almanac serve --bus sns --topic-arn \(topicARN) --queue-url \(queueURL)
                """
            )
        }
    }

    private static func queueARN(_ sqs: SQSClient, _ queueURL: String) async throws -> String {
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
