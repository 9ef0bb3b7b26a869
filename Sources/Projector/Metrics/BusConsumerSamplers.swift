public import Bus
import EventStore
public import Logging
public import Metrics
public import ServiceLifecycle
import Synchronization

/// `almanac_kafka_consumer_lag_messages{topic, partition}`: for each partition this process's
/// consumer owns, the messages after the group's committed offset (`KafkaSubscriber.lag`),
/// sampled every `interval`. A partition that is revoked is set to 0 and its series removed.
public struct KafkaLagSampler: Service {
    public let subscriber: KafkaSubscriber
    public var interval: Duration
    let gauges: KafkaLagGauges
    let logger: Logger

    public init(
        subscriber: KafkaSubscriber,
        interval: Duration = .seconds(5),
        factory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.subscriber = subscriber
        self.interval = interval
        self.gauges = KafkaLagGauges(factory: factory)
        self.logger = logger
    }

    public func run() async throws {
        await sampleEvery(interval, "Kafka consumer lag", logger: logger) { try await sample() }
    }

    /// Reads the lag of the assigned partitions and records it.
    public func sample() async throws {
        gauges.record(try await subscriber.lag())
    }
}

/// The lag gauges of the partitions reported last, so the ones no longer owned are removed.
final class KafkaLagGauges: Sendable {
    static let label = "almanac_kafka_consumer_lag_messages"

    private let factory: any MetricsFactory
    private let reported = Mutex<Set<TopicPartition>>([])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    private func gauge(_ partition: TopicPartition) -> Gauge {
        Gauge(
            label: Self.label,
            dimensions: [("topic", partition.topic), ("partition", String(partition.partition))],
            factory: factory
        )
    }

    /// Records `lags`; the partitions reported before and missing now read 0 and are removed.
    func record(_ lags: [PartitionLag]) {
        let now = Set(lags.map(\.partition))
        let gone = reported.withLock { reported in
            defer { reported = now }
            return reported.subtracting(now)
        }
        for lag in lags { gauge(lag.partition).record(lag.messages) }
        for partition in gone.sorted() {
            let gauge = gauge(partition)
            gauge.record(0)
            gauge.destroy()
        }
    }
}

/// `almanac_sqs_queue_messages{state}` (`visible`: waiting, `in_flight`: received, not yet deleted
/// nor returned) and `almanac_sqs_dead_letter_messages` (the visible messages of the dead-letter
/// queue the redrive policy names; not exported without one), from `GetQueueAttributes` every
/// `interval`. SQS approximates these counts; a failed sample leaves the last values.
public struct SQSDepthSampler: Service {
    public let client: SQSClient
    public let queueURL: String
    public var interval: Duration
    let factory: any MetricsFactory
    let logger: Logger
    /// The dead-letter queue's URL, looked up once per ARN the redrive policy names.
    private let deadLetterQueue = DeadLetterQueue()

    public init(
        client: SQSClient,
        queueURL: String,
        interval: Duration = .seconds(5),
        factory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger
    ) {
        self.client = client
        self.queueURL = queueURL
        self.interval = interval
        self.factory = factory
        self.logger = logger
    }

    public func run() async throws {
        await sampleEvery(interval, "SQS queue depth", logger: logger) { try await sample() }
    }

    /// Reads the queue's (and its dead-letter queue's) depth and records it.
    public func sample() async throws {
        let depth = try await client.queueDepth(queueURL: queueURL)
        Gauge(label: "almanac_sqs_queue_messages", dimensions: [("state", "visible")], factory: factory)
            .record(depth.visible)
        Gauge(label: "almanac_sqs_queue_messages", dimensions: [("state", "in_flight")], factory: factory)
            .record(depth.inFlight)
        guard let arn = depth.deadLetterQueueARN, let url = try await deadLetterQueueURL(arn) else { return }
        let deadLetters = try await client.queueDepth(queueURL: url)
        Gauge(label: "almanac_sqs_dead_letter_messages", factory: factory).record(deadLetters.visible)
    }

    private func deadLetterQueueURL(_ arn: String) async throws -> String? {
        if let known = deadLetterQueue.known.withLock({ $0 }), known.arn == arn { return known.url }
        guard let url = try await client.queueURL(arn: arn) else { return nil }
        deadLetterQueue.known.withLock { $0 = (arn, url) }
        return url
    }

    private final class DeadLetterQueue: Sendable {
        let known = Mutex<(arn: String, url: String)?>(nil)
    }
}
