import ArgumentParser
import Foundation
import Runtime

/// The SNS topic the relay publishes to and the SQS queue the projectors consume, plus where
/// AWS is (the standard chain, with overrides).
struct SNSOptions: ParsableArguments {
    @Option(name: .customLong("topic-arn"), help: "SNS topic of the relay (env ALMANAC_SNS_TOPIC_ARN).")
    var topicARN: String?

    @Option(name: .customLong("queue-url"), help: "SQS queue of the projectors (env ALMANAC_SQS_QUEUE_URL).")
    var queueURL: String?

    @OptionGroup var aws: AWSOptions

    /// The settings; the topic is required, the queue only where a projector runs.
    func fanOut(needsQueue: Bool = false) async throws -> SNSFanOut {
        let environment = ProcessInfo.processInfo.environment
        guard let topic = topicARN ?? environment["ALMANAC_SNS_TOPIC_ARN"], !topic.isEmpty else {
            throw ValidationError("--topic-arn (or ALMANAC_SNS_TOPIC_ARN) is required with the SNS bus")
        }
        let queue = queueURL ?? environment["ALMANAC_SQS_QUEUE_URL"]
        if needsQueue && (queue ?? "").isEmpty {
            throw ValidationError("--queue-url (or ALMANAC_SQS_QUEUE_URL) is required for an SQS projector")
        }
        return SNSFanOut(aws: try await aws.configuration(), topicARN: topic, queueURL: queue)
    }

    /// The settings of a projector alone (no topic needed).
    func projectorFanOut() async throws -> SNSFanOut {
        let environment = ProcessInfo.processInfo.environment
        guard let queue = queueURL ?? environment["ALMANAC_SQS_QUEUE_URL"], !queue.isEmpty else {
            throw ValidationError("--queue-url (or ALMANAC_SQS_QUEUE_URL) is required with --source sqs")
        }
        let topic = topicARN ?? environment["ALMANAC_SNS_TOPIC_ARN"] ?? ""
        return SNSFanOut(aws: try await aws.configuration(), topicARN: topic, queueURL: queue)
    }
}
