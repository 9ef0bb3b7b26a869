import Bus
import MetricsTestKit
import Testing

@testable import Projector

/// `almanac_sqs_queue_messages{state}` and `almanac_sqs_dead_letter_messages` from moto_server's
/// `GetQueueAttributes`, recorded into a test factory.
@Suite("SQS queue depth gauges", .serialized)
struct SQSDepthMetricsTests {
    static func gauge(_ metrics: TestMetrics, _ label: String, _ dimensions: [(String, String)] = []) -> Double? {
        metrics.recorders(label: label, dimensions: dimensions).first?.lastValue
    }

    @Test func visibleInFlightAndDeadLetterMessagesAreSampled() async throws {
        try await SNSFanOutTests.withFanOut(fifo: false) { _, created, sqs in
            let metrics = TestMetrics()
            let sampler = SQSDepthSampler(
                client: sqs,
                queueURL: created.queueURL,
                factory: metrics,
                logger: SNSFanOutTests.logger
            )
            func depth() -> [Double?] {
                [
                    Self.gauge(metrics, "almanac_sqs_queue_messages", [("state", "visible")]),
                    Self.gauge(metrics, "almanac_sqs_queue_messages", [("state", "in_flight")]),
                    Self.gauge(metrics, "almanac_sqs_dead_letter_messages"),
                ]
            }
            try await sampler.sample()
            #expect(depth() == [0, 0, 0])

            try await sqs.sendMessages(queueURL: created.queueURL, (1...7).map { SQSSendEntry(body: "m\($0)") })
            try await sqs.sendMessages(queueURL: created.deadLetterQueueURL, [SQSSendEntry(body: "dead")])
            let received = try await sqs.receiveMessages(
                queueURL: created.queueURL,
                maxMessages: 3,
                waitTimeSeconds: 1,
                visibilityTimeout: 60
            )
            #expect(!received.isEmpty)
            try await sampler.sample()
            #expect(depth() == [Double(7 - received.count), Double(received.count), 1])

            try await sqs.deleteMessages(queueURL: created.queueURL, receiptHandles: received.map(\.receiptHandle))
            try await sampler.sample()
            #expect(depth() == [Double(7 - received.count), 0, 1])
        }
    }
}
