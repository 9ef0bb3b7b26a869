import ArgumentParser
import Bus
import Foundation
import Logging
import Runtime

extension Queue {
    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Send '<prepend>Message <i>' for i = 0..<count, with a String attribute client = the client name.",
            discussion: "Shows a progress bar when stderr is a terminal."
        )

        @OptionGroup var queue: QueueNameOptions
        @Option(help: "The sender's name, sent as message attribute 'client'.") var clientName: String
        @Option(help: "How many messages to send.") var count = 100
        @Option(help: "Text put before every message body.") var prepend = ""
        @OptionGroup var aws: AWSOptions

        func validate() throws {
            guard self.count >= 0 else { throw ValidationError("--count must not be negative") }
        }

        func run() async throws {
            let logger = Logger.almanac()
            let progress = ProgressBar(total: self.count)
            try await self.aws.withClients(logger: logger) { _, sqs in
                let url = try await Queue.queueURL(sqs, name: self.queue.name)
                let entries = (0..<self.count).map { index in
                    SQSSendEntry(
                        body: "\(self.prepend)Message \(index)",
                        attributes: ["client": .string(self.clientName)],
                        // One group keeps every sender's messages in order; content-based dedup needs no id.
                        messageGroupID: self.queue.isFIFO ? "default" : nil
                    )
                }
                progress.show(0)
                // Batches go out one after another, so a FIFO queue keeps the sending order.
                for start in stride(from: 0, to: entries.count, by: SQSClient.maximumBatchSize) {
                    let batch = Array(entries[start..<min(start + SQSClient.maximumBatchSize, entries.count)])
                    try await sqs.sendMessages(queueURL: url, batch)
                    progress.show(start + batch.count)
                }
                progress.finish()
                print("Sent \(self.count) messages to \(url)")
            }
        }
    }
}
