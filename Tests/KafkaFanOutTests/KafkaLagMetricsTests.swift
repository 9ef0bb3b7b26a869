import AlmanacTestSupport
import Bus
import MetricsTestKit
import Runtime
import Testing

@testable import Projector

/// `almanac_kafka_consumer_lag_messages{topic, partition}`, recorded into a test factory (the
/// process-wide `MetricsSystem` is left alone).
@Suite("Kafka consumer lag gauges")
struct KafkaLagMetricsTests {
    static let label = "almanac_kafka_consumer_lag_messages"

    static func value(_ metrics: TestMetrics, partition: Int32, topic: String = "almanac.events") -> Double? {
        metrics.recorders(label: label, dimensions: [("topic", topic), ("partition", String(partition))])
            .first?.lastValue
    }

    @Test func aPartitionNoLongerOwnedReadsZeroAndItsSeriesIsRemoved() {
        let metrics = TestMetrics()
        let gauges = KafkaLagGauges(factory: metrics)
        let p0 = TopicPartition(topic: "almanac.events", partition: 0)
        let p1 = TopicPartition(topic: "almanac.events", partition: 1)
        gauges.record([
            PartitionLag(partition: p0, high: 10, committed: 4, messages: 6),
            PartitionLag(partition: p1, high: 3, committed: nil, messages: 3),
        ])
        #expect(Self.value(metrics, partition: 0) == 6)
        #expect(Self.value(metrics, partition: 1) == 3)

        gauges.record([PartitionLag(partition: p1, high: 5, committed: 5, messages: 0)])
        #expect(Self.value(metrics, partition: 1) == 0)
        #expect(metrics.recorders(label: Self.label).count == 1, "partition 0's series is removed")
        #expect(Self.value(metrics, partition: 0) == nil)
    }

    /// A consumer that has not read anything shows the whole backlog; once it has committed
    /// everything, 0.
    @Test func theSamplerReadsTheBacklogThenZero() async throws {
        let cluster = try KafkaFanOutTests.Cluster(partitions: 2)
        let publisher = try cluster.publisher()
        let subscriber = try cluster.subscriber("lag-sampler")
        let metrics = TestMetrics()
        let sampler = KafkaLagSampler(subscriber: subscriber, factory: metrics, logger: KafkaFanOutTests.logger)
        let sent = (1...20).map { BusMessage(key: "user-\($0 % 7)", eventID: "e\($0)", payload: Array("{}".utf8)) }
        let total: @Sendable () -> Double = {
            (0..<2).compactMap { KafkaLagMetricsTests.value(metrics, partition: $0) }.reduce(0, +)
        }

        try await AlmanacRuntime.withRunning([publisher, subscriber], logger: KafkaFanOutTests.logger) {
            try await publisher.publish(sent)
            try await poll("the gauges show the 20 messages", limit: .seconds(30), interval: .milliseconds(50)) {
                try await sampler.sample()
                return total() == 20
            }
            // Read and commit everything (the reader stops with the subscriber).
            let reader = Task {
                for try await received in subscriber.messages { try await subscriber.commit(received) }
            }
            defer { reader.cancel() }
            try await poll("the gauges fall to 0", limit: .seconds(30), interval: .milliseconds(50)) {
                try await sampler.sample()
                return total() == 0 && metrics.recorders(label: Self.label).count == 2
            }
        }
    }

    /// With metrics on, the composition root runs the sampler after the projector (so it stops
    /// first); without, there is none.
    @Test func theRuntimeAddsTheSamplerOnlyWithMetrics() async throws {
        let cluster = try KafkaFanOutTests.Cluster(partitions: 1)
        try await TestDatabase.withRuntime { runtime in
            let fanOut = cluster.fanOut(member: "wiring")
            let with = try runtime.projector(.bus(fanOut), metricsInterval: .seconds(1))
            #expect(
                with.map { String(describing: type(of: $0)) } == [
                    "KafkaSubscriber", "KafkaProjector", "KafkaLagSampler", "DeferredRerenderer",
                ]
            )
            #expect((with.first { $0 is KafkaLagSampler } as? KafkaLagSampler)?.interval == .seconds(1))
            let without = try runtime.projector(.bus(fanOut))
            #expect(!without.contains { $0 is KafkaLagSampler })
        }
    }
}
