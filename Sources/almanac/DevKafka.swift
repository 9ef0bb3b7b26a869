import ArgumentParser
import Bus
import Foundation
import Logging
import Runtime
import UnixSignals

struct DevKafka: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-kafka",
        abstract: "Run librdkafka's in-process mock Kafka cluster for local use and print its bootstrap address.",
        discussion:
            "A real Kafka protocol implementation (no persistence): any Kafka client, kcat included, can use it."
    )

    @Option(help: "Number of brokers.") var brokers = 3
    @Option(help: "Topic to create.") var topic = "almanac.events"
    @Option(help: "Partitions of the topic.") var partitions: Int32 = 6

    func run() async throws {
        let logger = Logger.almanac()
        let cluster = try KafkaMockCluster(brokers: brokers, logger: logger)
        try cluster.createTopic(topic, partitions: partitions)
        print("Mock Kafka cluster: \(brokers) brokers, topic \(topic) with \(partitions) partitions.")
        print("KAFKA_BROKERS=\(cluster.bootstrapServers)")
        print("Read it with: kcat -b \(cluster.bootstrapServers) -t \(topic) -C -f '%k %h %s\\n'")
        print("Ctrl-C stops it.")
        fflush(nil)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        for await _ in signals { break }
        cluster.shutdown()
    }
}
