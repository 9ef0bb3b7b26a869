import ArgumentParser
import Bus
import Foundation
import Logging
import Runtime
import ServiceLifecycle
import UnixSignals

extension Queue {
    struct Receive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Long-poll a queue, print one line per message, and delete what was printed.",
            discussion: """
                Each line is '[HH:MM:SS.mmm] <client>: <body>': the local time the message arrived here, \
                to the millisecond, the sender's 'client' attribute ('?' if it has none) and the body. \
                Ctrl-C (SIGINT) or SIGTERM stops at once, cancelling the long poll in flight; a message is \
                deleted only after it was printed.
                """
        )

        @OptionGroup var queue: QueueNameOptions
        @Option(help: "Stop after printing this many messages.") var maxMessages: Int?
        @Option(help: "Stop after this many seconds without a message.") var idleExit: Int?
        @Option(help: "Seconds one long poll waits for a message (0...20).") var waitTime = SQSClient
            .maximumWaitTimeSeconds
        @OptionGroup var aws: AWSOptions

        func validate() throws {
            guard (0...SQSClient.maximumWaitTimeSeconds).contains(self.waitTime) else {
                throw ValidationError("--wait-time must be 0...20")
            }
            if let maxMessages, maxMessages < 1 { throw ValidationError("--max-messages must be at least 1") }
            if let idleExit, idleExit < 1 { throw ValidationError("--idle-exit must be at least 1") }
        }

        func run() async throws {
            let logger = Logger.almanac()
            try await self.aws.withClients(logger: logger) { _, sqs in
                let url = try await Queue.queueURL(sqs, name: self.queue.name)
                let receiver = QueueReceiver(
                    sqs: sqs,
                    queueURL: url,
                    maxMessages: self.maxMessages,
                    idleExit: self.idleExit.map { .seconds($0) },
                    waitTimeSeconds: self.waitTime
                )
                try await AlmanacRuntime.run([receiver], logger: logger, servicesMayFinish: true)
            }
        }
    }
}

/// Prints and deletes the messages of one queue until told to stop, `maxMessages` were printed, or
/// nothing arrived for `idleExit`.
struct QueueReceiver: Service {
    let sqs: SQSClient
    let queueURL: String
    let maxMessages: Int?
    let idleExit: Duration?
    let waitTimeSeconds: Int

    func run() async throws {
        // Said here, not before the group runs: by now the group traps SIGINT, so Ctrl-C stops cleanly.
        FileHandle.standardError.write(Data("Receiving from \(self.queueURL); Ctrl-C stops.\n".utf8))
        let clock = ContinuousClock()
        let timeFormat = DateFormatter()
        timeFormat.locale = Locale(identifier: "en_US_POSIX")
        timeFormat.dateFormat = "HH:mm:ss.SSS"
        var printed = 0
        var lastArrival = clock.now
        while !Task.isShuttingDownGracefully {
            var wanted = SQSClient.maximumBatchSize
            if let maxMessages {
                guard printed < maxMessages else { return }
                wanted = min(wanted, maxMessages - printed)
            }
            var wait = self.waitTimeSeconds
            if let idleExit {
                let left = idleExit - (clock.now - lastArrival)
                guard left > .zero else { return }
                wait = min(wait, Int(left.components.seconds) + 1)
            }
            let messages: [SQSMessage]
            do {
                // Only the wait is cancelled on Ctrl-C: what was received is still printed and deleted.
                messages = try await cancelWhenGracefulShutdown { [sqs, queueURL, wanted, wait] in
                    try await sqs.receiveMessages(queueURL: queueURL, maxMessages: wanted, waitTimeSeconds: wait)
                }
            } catch is CancellationError {
                return
            }
            guard !messages.isEmpty else { continue }
            let arrival = timeFormat.string(from: Date())
            lastArrival = clock.now
            var lines = ""
            for message in messages {
                lines += "[\(arrival)] \(message.stringAttribute("client") ?? "?"): \(message.body)\n"
            }
            FileHandle.standardOutput.write(Data(lines.utf8))
            try await self.sqs.deleteMessages(queueURL: self.queueURL, receiptHandles: messages.map(\.receiptHandle))
            printed += messages.count
        }
    }
}
