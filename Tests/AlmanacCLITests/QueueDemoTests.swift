import Bus
import Foundation
import Testing

/// `almanac queue create|send|receive`, run as child processes against moto_server.
@Suite("almanac queue demo", .timeLimit(.minutes(3)))
struct QueueDemoTests {
    @Test("three senders on a standard queue: the receiver prints every message with its client")
    func threeSendersStandard() async throws {
        let name = CLIMoto.uniqueName("demo")
        let created = try await CLIMoto.almanac("queue", "create", "--name", name)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.hasSuffix("/\(name)\n"))

        let environment = try CLIMoto.environment()
        let receiver = try AlmanacProcess(
            ["queue", "receive", "--name", name, "--max-messages", "150", "--idle-exit", "15"],
            environment: environment
        )
        defer { receiver.kill() }
        let clients = ["alice", "bob", "carol"]
        async let sends = withThrowingTaskGroup(of: AlmanacProcess.Outcome.self) { group in
            for client in clients {
                group.addTask {
                    try await AlmanacProcess.run(
                        ["queue", "send", "--name", name, "--client-name", client, "--count", "50"],
                        environment: environment
                    )
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for outcome in try await sends {
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdout.hasPrefix("Sent 50 messages to "))
            // stderr is a file here, not a terminal: no progress bar.
            #expect(!outcome.stderr.contains("#"))
        }
        let received = await receiver.outcome()
        #expect(received.status == 0, "\(received.stderr)")
        let lines = ReceivedLine.parse(received.stdout)
        #expect(lines.count == 150)
        #expect(
            Set(lines.map { "\($0.client): \($0.body)" })
                == Set(clients.flatMap { client in (0..<50).map { "\(client): Message \($0)" } })
        )
        #expect(lines.allSatisfy { $0.time.wholeMatch(of: /\d\d:\d\d:\d\d\.\d\d\d/) != nil })
        #expect(try await CLIMoto.withClients { _, sqs in try await Self.depth(sqs, name) } == 0)
    }

    @Test("three senders on a FIFO queue: each sender's messages arrive in order")
    func threeSendersFIFO() async throws {
        let name = CLIMoto.uniqueName("demo", fifo: true)
        #expect(try await CLIMoto.almanac("queue", "create", "--name", name).status == 0)
        let environment = try CLIMoto.environment()
        let clients = ["alice", "bob", "carol"]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask {
                    // Distinct bodies per sender: content-based deduplication would drop equal ones.
                    let outcome = try await AlmanacProcess.run(
                        [
                            "queue", "send", "--name", name, "--client-name", client, "--count", "40", "--prepend",
                            "\(client) ",
                        ],
                        environment: environment
                    )
                    #expect(outcome.status == 0, "\(outcome.stderr)")
                }
            }
            try await group.waitForAll()
        }
        let received = try await CLIMoto.almanac(
            "queue",
            "receive",
            "--name",
            name,
            "--max-messages",
            "120",
            "--idle-exit",
            "10"
        )
        #expect(received.status == 0, "\(received.stderr)")
        let lines = ReceivedLine.parse(received.stdout)
        #expect(lines.count == 120)
        for client in clients {
            let bodies = lines.filter { $0.client == client }.map(\.body)
            #expect(bodies == (0..<40).map { "\(client) Message \($0)" }, "order of \(client)")
        }
    }

    @Test("FIFO deduplication: the same 100 bodies twice deliver 100; with another --prepend, 200")
    func deduplication() async throws {
        let name = CLIMoto.uniqueName("dedup", fifo: true)
        #expect(try await CLIMoto.almanac("queue", "create", "--name", name).status == 0)
        for _ in 0..<2 {
            #expect(try await CLIMoto.almanac("queue", "send", "--name", name, "--client-name", "same").status == 0)
        }
        #expect(try await CLIMoto.withClients { _, sqs in try await Self.depth(sqs, name) } == 100)
        let other = try await CLIMoto.almanac(
            "queue",
            "send",
            "--name",
            name,
            "--client-name",
            "same",
            "--prepend",
            "again "
        )
        #expect(other.status == 0)
        #expect(try await CLIMoto.withClients { _, sqs in try await Self.depth(sqs, name) } == 200)

        let received = try await CLIMoto.almanac(
            "queue",
            "receive",
            "--name",
            name,
            "--max-messages",
            "200",
            "--idle-exit",
            "10"
        )
        let bodies = ReceivedLine.parse(received.stdout).map(\.body)
        #expect(bodies == (0..<100).map { "Message \($0)" } + (0..<100).map { "again Message \($0)" })
    }

    @Test("a missing queue prints exactly 'Unable to find a Queue by this name <name>' and fails")
    func missingQueue() async throws {
        let name = CLIMoto.uniqueName("missing")
        for command in [["receive"], ["send", "--client-name", "x"]] {
            let outcome = try await AlmanacProcess.run(
                ["queue"] + command + ["--name", name],
                environment: try CLIMoto.environment()
            )
            #expect(outcome.status != 0)
            #expect(outcome.stderr == "Unable to find a Queue by this name \(name)\n")
            #expect(outcome.stdout.isEmpty)
        }
    }

    @Test("Ctrl-C (SIGINT) stops a receiver in the middle of a 20 s long poll, at once and cleanly")
    func interrupt() async throws {
        let name = CLIMoto.uniqueName("interrupt")
        #expect(try await CLIMoto.almanac("queue", "create", "--name", name).status == 0)
        let receiver = try AlmanacProcess(["queue", "receive", "--name", name], environment: try CLIMoto.environment())
        defer { receiver.kill() }
        let deadline = ContinuousClock.now + .seconds(20)
        while !receiver.stderr.contains("Ctrl-C stops") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(receiver.stderr.contains("Receiving from "))
        let interrupted = ContinuousClock.now
        receiver.interrupt()
        let outcome = await receiver.outcome()
        // Far below the long poll's 20 s; room for the loaded parallel suite.
        #expect(ContinuousClock.now - interrupted < .seconds(12))
        #expect(outcome.status == 0, "\(outcome.stderr)")
    }

    static func depth(_ sqs: SQSClient, _ name: String) async throws -> Int {
        let url = try await sqs.getQueueURL(name: name)
        let attributes = try await sqs.getQueueAttributes(
            queueURL: url,
            names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )
        return (Int(attributes["ApproximateNumberOfMessages"] ?? "") ?? 0)
            + (Int(attributes["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0)
    }
}
