import ArgumentParser
import Logging
import Runtime

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish every event of the store to the bus, in order, resuming from a checkpoint."
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var kafka: KafkaOptions

    func run() async throws {
        let logger = Logger.almanac()
        let fanOut = FanOut.kafka(try kafka.fanOut())
        try await database.withRuntime(logger: logger) { runtime in
            try await AlmanacRuntime.run(try await runtime.services(for: .init(relay: fanOut)), logger: logger)
        }
    }
}
