import Bus
import Runtime

/// librdkafka's mock cluster in this process (a real Kafka protocol implementation on loopback
/// sockets, 3 brokers by default) and the clients the harness connects to it: configured as
/// `almanac serve --bus kafka` configures them, plus the plan's `--kafka-setting`s.
struct MockKafka {
    let cluster: KafkaMockCluster
    let plan: Plan

    init(plan: Plan) throws {
        self.plan = plan
        cluster = try KafkaMockCluster(brokers: plan.kafkaBrokers, logger: BenchServer.logger)
    }

    func createTopic(_ name: String) throws {
        try cluster.createTopic(name, partitions: Int32(plan.kafkaPartitions))
    }

    /// The relay's idempotent producer (`acks=all`, librdkafka's default `linger.ms`).
    func publisher(topic: String) throws -> KafkaPublisher {
        try KafkaPublisher(configuration: publisherConfiguration(topic: topic), logger: BenchServer.logger)
    }

    func publisherConfiguration(topic: String) -> KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers,
            topic: topic,
            clientID: "almanac-relay",
            extra: plan.kafkaSettings
        )
    }

    /// The relay's and the projectors' settings, as `almanac serve --bus kafka` takes them.
    func fanOut(topic: String, group: String) -> FanOut {
        .kafka(
            KafkaFanOut(
                relay: publisherConfiguration(topic: topic),
                projector: subscriberConfiguration(topic: topic),
                group: group
            )
        )
    }

    /// A projector's consumer in `group`. The mock broker holds an empty fetch for the whole
    /// `fetch.wait.max.ms` even when a message arrives meanwhile (a real broker answers at once),
    /// so the harness lowers it from librdkafka's 500 ms.
    func subscriber(topic: String, group: String) throws -> KafkaSubscriber {
        try KafkaSubscriber(
            configuration: subscriberConfiguration(topic: topic),
            groupID: group,
            logger: BenchServer.logger
        )
    }

    func subscriberConfiguration(topic: String) -> KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: cluster.bootstrapServers,
            topic: topic,
            clientID: "almanac-projector",
            extra: ["fetch.wait.max.ms": "\(plan.kafkaFetchWaitMilliseconds)"].merging(plan.kafkaSettings) { $1 }
        )
    }

    func shutdown() {
        cluster.shutdown()
    }
}
