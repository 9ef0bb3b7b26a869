import ArgumentParser
import Bus
import EventStore
import Logging
import Projector
import ServiceLifecycle
import UnixSignals

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish every event of the store to the bus, in order, resuming from a checkpoint."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions

    func run() async throws {
        let logger = Logger.almanac()
        try await database.withDatabase(logger: logger) { client in
            try await Migrator.bundled().migrate(client: client, logger: logger)
            let store = EventStore(client: client, logger: logger)
            let publisher = try KafkaPublisher(
                configuration: try kafka.configuration(clientID: "almanac-relay"),
                logger: logger
            )
            // The publisher stops last, after the relay has handed it its final batch.
            let group = ServiceGroup(
                configuration: .init(
                    services: [publisher, OutboxRelay(store: store, publisher: publisher)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        }
    }
}

struct Project: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a calendar projector: from the Kafka consumer group, or tailing the store."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions

    @Option(help: "kafka (one member of the consumer group) or store (tail the event store).")
    var source: String = "kafka"

    @Flag(help: "Do not run a job worker beside the projector.") var noJobs = false

    func validate() throws {
        guard ["kafka", "store"].contains(source) else { throw ValidationError("--source must be kafka or store") }
    }

    func run() async throws {
        let logger = Logger.almanac()
        try await database.withDatabase(logger: logger) { client in
            try await Migrator.bundled().migrate(client: client, logger: logger)
            let store = EventStore(client: client, logger: logger)
            var services: [any Service] = []
            if source == "kafka" {
                let subscriber = try KafkaSubscriber(
                    configuration: try kafka.configuration(clientID: "almanac-projector"),
                    groupID: kafka.group,
                    logger: logger
                )
                services += [
                    subscriber, KafkaProjector(subscriber: subscriber, writer: ProjectionWriter(store: store)),
                ]
            } else {
                services.append(StoreTailingProjector(writer: ProjectionWriter(store: store)))
            }
            if !noJobs { services.append(JobWorkerFactory.worker(store: store)) }
            let group = ServiceGroup(
                configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            )
            try await group.run()
        }
    }
}
