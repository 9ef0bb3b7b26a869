import ArgumentParser
import Foundation
import Logging
import Runtime

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish every event of the store to the bus, in order, resuming from a checkpoint."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "kafka or sns (env ALMANAC_BUS).")
    var bus: BusKind = BusKind(rawValue: ProcessInfo.processInfo.environment["ALMANAC_BUS"] ?? "") ?? .kafka

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var sns: SNSOptions
    @OptionGroup var metrics: MetricsOptions

    func validate() throws {
        try metrics.validate()
        guard bus != .none else { throw ValidationError("--bus must be kafka or sns for the relay") }
    }

    func run() async throws {
        let metricsSettings = metrics.bootstrap()
        let logger = Logger.almanac()
        let tracing = try TracingSetup.bootstrap(logger: logger).map { [$0] } ?? []
        guard let fanOut = try await bus.fanOut(kafka: kafka, sns: sns) else { return }
        try await database.withRuntime(logger: logger) { runtime in
            try await AlmanacRuntime.run(
                tracing + (try await runtime.services(for: .init(relay: fanOut, metrics: metricsSettings))),
                logger: logger
            )
        }
    }
}
