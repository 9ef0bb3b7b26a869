import ArgumentParser
import Bus
import Foundation

/// `almanac queue`: a small SQS demonstration (create a queue, send numbered messages, receive them).
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Demonstrate SQS: create a queue, send numbered messages from named clients, receive them.",
        discussion: """
            Queues whose name ends in .fifo are FIFO queues with content-based deduplication: every \
            sender uses message group "default", so each sender's messages arrive in order, and the same \
            body sent twice within five minutes is delivered once.
            """,
        subcommands: [Create.self, Send.self, Receive.self]
    )

    /// The message a missing queue prints, exactly.
    static func missingQueueMessage(_ name: String) -> String { "Unable to find a Queue by this name \(name)" }

    /// The URL of queue `name`; prints the missing-queue message to stderr and exits 1 if there is none.
    static func queueURL(_ sqs: SQSClient, name: String) async throws -> String {
        do {
            return try await sqs.getQueueURL(name: name)
        } catch let error as AWSError where error.code == .queueDoesNotExist {
            FileHandle.standardError.write(Data((missingQueueMessage(name) + "\n").utf8))
            throw ExitCode.failure
        }
    }
}

/// The name of a queue to use.
struct QueueNameOptions: ParsableArguments {
    @Option(help: "Queue name; a name ending in .fifo is a FIFO queue.") var name: String

    var isFIFO: Bool { self.name.hasSuffix(".fifo") }
}
