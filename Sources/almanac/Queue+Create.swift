import ArgumentParser
import Bus
import Logging
import Runtime

extension Queue {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a queue (FIFO with content-based deduplication if the name ends in .fifo); print its URL."
        )

        @OptionGroup var queue: QueueNameOptions
        @OptionGroup var aws: AWSOptions

        func run() async throws {
            let logger = Logger.almanac()
            let attributes = self.queue.isFIFO ? ["FifoQueue": "true", "ContentBasedDeduplication": "true"] : [:]
            let url = try await self.aws.withClients(logger: logger) { _, sqs in
                try await sqs.createQueue(name: self.queue.name, attributes: attributes)
            }
            print(url)
        }
    }
}
