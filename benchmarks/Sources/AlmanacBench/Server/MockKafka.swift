import Bus

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
        try KafkaPublisher(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                topic: topic,
                clientID: "almanac-relay",
                extra: plan.kafkaSettings
            ),
            logger: BenchServer.logger
        )
    }

    /// A projector's consumer in `group`. The mock broker holds an empty fetch for the whole
    /// `fetch.wait.max.ms` even when a message arrives meanwhile (a real broker answers at once),
    /// so the harness lowers it from librdkafka's 500 ms.
    func subscriber(topic: String, group: String) throws -> KafkaSubscriber {
        try KafkaSubscriber(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                topic: topic,
                clientID: "almanac-projector",
                extra: ["fetch.wait.max.ms": "\(plan.kafkaFetchWaitMilliseconds)"].merging(plan.kafkaSettings) { $1 }
            ),
            groupID: group,
            logger: BenchServer.logger
        )
    }

    func shutdown() {
        cluster.shutdown()
    }
}
