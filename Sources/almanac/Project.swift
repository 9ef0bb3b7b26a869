import ArgumentParser
import Logging
import Runtime

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
        let projector: AlmanacRuntime.ProjectorSource = source == "kafka" ? .bus(.kafka(try kafka.fanOut())) : .store
        try await database.withRuntime(logger: logger) { runtime in
            let services = try await runtime.services(for: .init(projector: projector, jobs: !noJobs))
            try await AlmanacRuntime.run(services, logger: logger)
        }
    }
}
