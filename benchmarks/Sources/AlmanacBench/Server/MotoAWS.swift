import Bus
import Foundation
import Runtime

/// SNS and SQS at the endpoint `benchmarks/run` passes (moto_server, an AWS emulator on loopback
/// that checks no signature), and the harness's own clients of it, which create and remove what
/// each measurement needs: topics, queues, dead-letter queues and subscriptions, made as
/// `almanac aws-setup` makes them.
struct MotoAWS {
    let configuration: AWSConfiguration
    let sns: SNSClient
    let sqs: SQSClient

    /// `almanac aws-setup`'s default: a message received this often without being deleted moves
    /// to the dead-letter queue.
    static let maxReceiveCount = 5

    /// Runs `body` with clients of `endpoint`, closed when it returns.
    static func with<Result>(endpoint: String, _ body: (MotoAWS) async throws -> Result) async throws -> Result {
        guard let parsed = AWSEndpoint(url: endpoint) else { throw BenchError("invalid AWS endpoint \(endpoint)") }
        let configuration = AWSConfiguration(
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
            region: "us-east-1",
            endpointOverrides: [.sns: parsed, .sqs: parsed]
        )
        return try await AWSHTTPClient.withClient(logger: BenchServer.logger) { http in
            try await body(
                MotoAWS(
                    configuration: configuration,
                    sns: SNSClient(configuration: configuration, transport: http, logger: BenchServer.logger),
                    sqs: SQSClient(configuration: configuration, transport: http, logger: BenchServer.logger)
                )
            )
        }
    }

    /// A fresh topic and projector queue of `kind` with their dead-letter queue and raw
    /// subscription, passed to `body` with the fan-out settings of `almanac serve --bus sns` (its
    /// visibility timeout and long poll), and removed afterwards, also when `body` fails: moto
    /// keeps every queue and message in memory.
    func withFanOut<Result>(
        _ kind: Plan.QueueKind,
        _ body: (SNSFanOut, AWSFanOutSetup.Resources) async throws -> Result
    ) async throws -> Result {
        let created = try await AWSFanOutSetup.create(
            sns: sns,
            sqs: sqs,
            namePrefix: Self.uniqueName(),
            fifo: kind == .fifo,
            maxReceiveCount: Self.maxReceiveCount
        )
        let fanOut = SNSFanOut(aws: configuration, topicARN: created.topicARN, queueURL: created.queueURL)
        let result: Result
        do {
            result = try await body(fanOut, created)
        } catch {
            try? await remove(created)
            throw error
        }
        try await remove(created)
        return result
    }

    /// A fresh topic of `kind` that no queue subscribes to, removed after `body`.
    func withTopic<Result>(_ kind: Plan.QueueKind, _ body: (String) async throws -> Result) async throws -> Result {
        let topicARN = try await sns.createTopic(
            name: Self.uniqueName() + (kind == .fifo ? ".fifo" : ""),
            fifo: kind == .fifo
        )
        let result: Result
        do {
            result = try await body(topicARN)
        } catch {
            try? await sns.deleteTopic(topicARN: topicARN)
            throw error
        }
        try await sns.deleteTopic(topicARN: topicARN)
        return result
    }

    private func remove(_ created: AWSFanOutSetup.Resources) async throws {
        try await sns.unsubscribe(subscriptionARN: created.subscriptionARN)
        try await sns.deleteTopic(topicARN: created.topicARN)
        try await sqs.deleteQueue(queueURL: created.queueURL)
        try await sqs.deleteQueue(queueURL: created.deadLetterQueueURL)
    }

    /// Messages in the queue, visible or being applied (SQS's approximate counts; exact on moto).
    func depth(_ queueURL: String) async throws -> Int {
        let attributes = try await sqs.getQueueAttributes(
            queueURL: queueURL,
            names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )
        return (Int(attributes["ApproximateNumberOfMessages"] ?? "") ?? 0)
            + (Int(attributes["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0)
    }

    private static func uniqueName() -> String {
        "almanac-bench-\(UUID().uuidString.prefix(8).lowercased())"
    }
}
