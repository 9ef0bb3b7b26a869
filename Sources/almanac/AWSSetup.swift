import ArgumentParser
import Bus
import Logging
import Runtime

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
        try await self.aws.withClients(logger: logger) { sns, sqs in
            let created = try await AWSFanOutSetup.create(
                sns: sns,
                sqs: sqs,
                namePrefix: self.namePrefix,
                fifo: self.fifo,
                maxReceiveCount: self.maxReceiveCount
            )
            print(
                """
                TOPIC_ARN=\(created.topicARN)
                QUEUE_URL=\(created.queueURL)
                QUEUE_ARN=\(created.queueARN)
                DEAD_LETTER_QUEUE_URL=\(created.deadLetterQueueURL)
                DEAD_LETTER_QUEUE_ARN=\(created.deadLetterQueueARN)
                SUBSCRIPTION_ARN=\(created.subscriptionARN)

                Publish events (the relay):
                  almanac relay --bus sns --topic-arn \(created.topicARN)
                Project them (one or more projectors on the queue):
                  almanac project --source sqs --queue-url \(created.queueURL)
                Or both beside the API in one process:
                  almanac serve --bus sns --topic-arn \(created.topicARN) --queue-url \(created.queueURL)
                """
            )
        }
    }
}
