import Bus
import Foundation
import Testing

/// `almanac aws-setup`, run twice against moto_server.
@Suite("almanac aws-setup", .timeLimit(.minutes(2)))
struct AWSSetupTests {
    /// The `KEY=value` lines of its output.
    static func values(_ output: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "="), line[..<equals].allSatisfy({ $0.isUppercase || $0 == "_" })
            else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return values
    }

    @Test(
        "creates topic, queue, dead-letter queue, policy and raw subscription; a second run changes nothing",
        arguments: [true, false]
    )
    func idempotentSetup(fifo: Bool) async throws {
        let prefix = CLIMoto.uniqueName("setup")
        let arguments = ["aws-setup", "--name-prefix", prefix, "--max-receive-count", "3"] + (fifo ? ["--fifo"] : [])
        let environment = try CLIMoto.environment()
        let first = try await AlmanacProcess.run(arguments, environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let second = try await AlmanacProcess.run(arguments, environment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout == first.stdout)

        let values = Self.values(first.stdout)
        let suffix = fifo ? ".fifo" : ""
        let topicARN = try #require(values["TOPIC_ARN"])
        let queueURL = try #require(values["QUEUE_URL"])
        #expect(topicARN.hasSuffix(":\(prefix)\(suffix)"))
        #expect(queueURL.hasSuffix("/\(prefix)-projector\(suffix)"))
        #expect(first.stdout.contains("almanac relay --bus sns --topic-arn \(topicARN)\n"))
        #expect(first.stdout.contains("almanac project --source sqs --queue-url \(queueURL)\n"))
        #expect(first.stdout.contains("almanac serve --bus sns --topic-arn \(topicARN) --queue-url \(queueURL)"))

        try await CLIMoto.withClients { sns, sqs in
            let queue = try await sqs.getQueueAttributes(queueURL: queueURL)
            #expect(queue["FifoQueue"] == (fifo ? "true" : nil))
            let redrive =
                try JSONSerialization.jsonObject(with: Data((queue["RedrivePolicy"] ?? "{}").utf8)) as? [String: Any]
            #expect(redrive?["deadLetterTargetArn"] as? String == values["DEAD_LETTER_QUEUE_ARN"])
            #expect("\(redrive?["maxReceiveCount"] ?? "")" == "3")
            let policy = try JSONSerialization.jsonObject(with: Data((queue["Policy"] ?? "{}").utf8)) as? [String: Any]
            let statement = (policy?["Statement"] as? [[String: Any]])?.first
            #expect(statement?["Action"] as? String == "sqs:SendMessage")
            #expect(statement?["Resource"] as? String == values["QUEUE_ARN"])
            let condition = statement?["Condition"] as? [String: [String: String]]
            #expect(condition?["ArnEquals"]?["aws:SourceArn"] == topicARN)
            let subscription = try await sns.getSubscriptionAttributes(
                subscriptionARN: try #require(values["SUBSCRIPTION_ARN"])
            )
            #expect(subscription["RawMessageDelivery"] == "true")
            #expect(subscription["Endpoint"] == values["QUEUE_ARN"])
            #expect(try await sns.getTopicAttributes(topicARN: topicARN)["FifoTopic"] == (fifo ? "true" : nil))

            // The fan-out works end to end: an event published to the topic arrives raw in the queue.
            let event = BusMessage(key: "42", eventID: UUID().uuidString, payload: Array(#"{"stream_id":42}"#.utf8))
            try await SNSPublisher(client: sns, topicARN: topicARN, logger: CLIMoto.logger).publish([event])
            let received = try await sqs.receiveMessages(queueURL: queueURL, waitTimeSeconds: 5)
            #expect(try received.map { try $0.busMessage() } == [event])
        }
    }
}
