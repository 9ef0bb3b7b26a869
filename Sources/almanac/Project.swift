import ArgumentParser
import Foundation
import Logging
import Runtime

struct Project: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a calendar projector: from the Kafka consumer group, or tailing the store."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var sns: SNSOptions

    @Option(
        help:
            "kafka (one member of the consumer group), sqs (one consumer of the queue) or store (tail the event store)."
    )
    var source: String = "kafka"

    @Flag(help: "Do not run a job worker beside the projector.") var noJobs = false

    @OptionGroup var metrics: MetricsOptions

    func validate() throws {
        try metrics.validate()
        guard ["kafka", "sqs", "store"].contains(source) else {
            throw ValidationError("--source must be kafka, sqs or store")
        }
    }

    func run() async throws {
        let metricsSettings = metrics.bootstrap()
        let logger = Logger.almanac()
        let tracing = try TracingSetup.bootstrap(logger: logger).map { [$0] } ?? []
        let projector: AlmanacRuntime.ProjectorSource =
            switch source {
            case "kafka": .bus(.kafka(try kafka.fanOut()))
            case "sqs": .bus(.sns(try await sns.projectorFanOut()))
            default: .store
            }
        try await database.withRuntime(logger: logger) { runtime in
            let services = try await runtime.services(
                for: .init(projector: projector, jobs: !noJobs, metrics: metricsSettings)
            )
            try await AlmanacRuntime.run(tracing + services, logger: logger)
        }
    }
}
