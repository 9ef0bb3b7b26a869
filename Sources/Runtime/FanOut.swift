public import Bus
import EventStore
import Logging
import Projector
import Relay
import ServiceLifecycle

/// A bus that events fan out over: the relay publishes to it, projectors consume from it.
/// Adding a bus means one new case here.
public enum FanOut: Sendable {
    /// A Kafka-compatible broker: one topic keyed by user, projectors in one consumer group.
    case kafka(KafkaFanOut)
    /// An SNS topic (FIFO or standard) fanning out to SQS queues; projectors share a queue.
    case sns(SNSFanOut)

    /// The relay and what it publishes with, in start order (the publisher stops last).
    func relayServices(store: EventStore, logger: Logger) throws -> [any Service] {
        switch self {
        case .kafka(let kafka):
            let publisher = try KafkaPublisher(configuration: kafka.relay, logger: logger)
            return [publisher, OutboxRelay(store: store, publisher: publisher)]
        case .sns(let sns):
            let http = AWSHTTPClient(logger: logger)
            let client = SNSClient(configuration: sns.aws, transport: http, logger: logger)
            let publisher = SNSPublisher(client: client, topicARN: sns.topicARN, logger: logger)
            return [http, OutboxRelay(store: store, publisher: publisher)]
        }
    }

    /// A projector fed by the bus and its consumer, in start order; with `metricsInterval`, then
    /// the sampler of the consumer's lag (Kafka) or the queue's depth (SQS), which stops first.
    func projectorServices(writer: ProjectionWriter, metricsInterval: Duration?, logger: Logger) throws -> [any Service]
    {
        switch self {
        case .kafka(let kafka):
            let subscriber = try KafkaSubscriber(configuration: kafka.projector, groupID: kafka.group, logger: logger)
            let projector = KafkaProjector(subscriber: subscriber, writer: writer)
            guard let metricsInterval else { return [subscriber, projector] }
            return [
                subscriber, projector,
                KafkaLagSampler(subscriber: subscriber, interval: metricsInterval, logger: logger),
            ]
        case .sns(let sns):
            guard let queueURL = sns.queueURL else { throw SNSFanOut.QueueMissing() }
            let http = AWSHTTPClient(logger: logger)
            let client = SQSClient(configuration: sns.aws, transport: http, logger: logger)
            let projector = SQSProjector(
                client: client,
                queueURL: queueURL,
                writer: writer,
                visibilityTimeout: sns.visibilityTimeout,
                waitTimeSeconds: sns.waitTimeSeconds
            )
            guard let metricsInterval else { return [http, projector] }
            let sampler = SQSDepthSampler(client: client, queueURL: queueURL, interval: metricsInterval, logger: logger)
            return [http, projector, sampler]
        }
    }
}

/// The Kafka settings of the relay (producer) and of the projectors (consumer group).
public struct KafkaFanOut: Sendable {
    public var relay: KafkaConfiguration
    public var projector: KafkaConfiguration
    public var group: String

    public init(relay: KafkaConfiguration, projector: KafkaConfiguration, group: String) {
        self.relay = relay
        self.projector = projector
        self.group = group
    }
}

/// The SNS/SQS settings: where AWS is, the relay's topic and the projectors' queue.
public struct SNSFanOut: Sendable {
    public var aws: AWSConfiguration
    public var topicARN: String
    /// The projectors' queue; nil where only the relay runs.
    public var queueURL: String?
    /// Seconds a received message stays hidden from other projectors while it is applied.
    public var visibilityTimeout: Int
    /// Long-poll wait of a receive (at most 20 s).
    public var waitTimeSeconds: Int

    public init(
        aws: AWSConfiguration,
        topicARN: String,
        queueURL: String?,
        visibilityTimeout: Int = 30,
        waitTimeSeconds: Int = 20
    ) {
        self.aws = aws
        self.topicARN = topicARN
        self.queueURL = queueURL
        self.visibilityTimeout = visibilityTimeout
        self.waitTimeSeconds = waitTimeSeconds
    }

    /// A projector was asked for without a queue.
    public struct QueueMissing: Error, CustomStringConvertible {
        public var description: String { "an SQS projector needs --queue-url (or ALMANAC_SQS_QUEUE_URL)" }
    }
}
