import Bus
import Foundation
import Testing

/// The SQS client against moto_server.
@Suite("SQS against moto", .timeLimit(.minutes(2)))
struct SQSMotoTests {
    @Test("GetQueueUrl of a missing queue is the typed queue-does-not-exist error")
    func missingQueue() async throws {
        try await Moto.withClients { _, sqs in
            let error = await #expect(throws: AWSError.self) {
                try await sqs.getQueueURL(name: Moto.uniqueName("missing"))
            }
            #expect(error?.code == .queueDoesNotExist)
            #expect(error?.awsCode == "AWS.SimpleQueueService.NonExistentQueue")
            #expect(error?.httpStatus == 400)
            #expect(error?.operation == "GetQueueUrl")
            #expect(error?.requestID?.isEmpty == false)
            #expect(error?.isRetryable == false)
        }
    }

    @Test("CreateQueue: FIFO with content-based deduplication, a dead-letter queue by RedrivePolicy; idempotent")
    func createQueues() async throws {
        try await Moto.withClients { _, sqs in
            let deadLetterURL = try await sqs.createQueue(
                name: Moto.uniqueName("dlq", fifo: true),
                attributes: ["FifoQueue": "true"]
            )
            let deadLetterARN = try await sqs.queueARN(deadLetterURL)
            let name = Moto.uniqueName("main", fifo: true)
            let attributes = [
                "FifoQueue": "true", "ContentBasedDeduplication": "true",
                "RedrivePolicy": SQSQueueAttributes.redrivePolicy(
                    deadLetterQueueARN: deadLetterARN,
                    maxReceiveCount: 3
                ),
            ]
            let url = try await sqs.createQueue(name: name, attributes: attributes)
            #expect(try await sqs.createQueue(name: name, attributes: attributes) == url)
            #expect(try await sqs.getQueueURL(name: name) == url)
            let stored = try await sqs.getQueueAttributes(queueURL: url)
            #expect(stored["FifoQueue"] == "true")
            #expect(stored["ContentBasedDeduplication"] == "true")
            let redrive =
                try JSONSerialization.jsonObject(with: Data((stored["RedrivePolicy"] ?? "{}").utf8)) as? [String: Any]
            #expect(redrive?["deadLetterTargetArn"] as? String == deadLetterARN)
            #expect("\(redrive?["maxReceiveCount"] ?? "")" == "3")
        }
    }

    @Test("send, long-poll receive, content-based dedup on FIFO, and per-group order")
    func sendReceiveFIFO() async throws {
        try await Moto.withClients { _, sqs in
            let url = try await sqs.createQueue(
                name: Moto.uniqueName("fifo", fifo: true),
                attributes: ["FifoQueue": "true", "ContentBasedDeduplication": "true"]
            )
            let entries = (0..<25).map {
                SQSSendEntry(
                    body: "Grüße \($0) 👋",
                    attributes: ["client": .string("c\($0 % 2)")],
                    messageGroupID: "g\($0 % 2)"
                )
            }
            try await sqs.sendMessages(queueURL: url, entries)
            try await sqs.sendMessages(queueURL: url, entries)  // same bodies: dropped by content-based dedup
            let single = try await sqs.sendMessage(queueURL: url, SQSSendEntry(body: "last", messageGroupID: "g0"))
            #expect(!single.isEmpty)
            let received = try await sqs.drain(queueURL: url, count: 26)
            #expect(received.count == 26)
            #expect(try await sqs.depth(url) == 0)
            for group in ["g0", "g1"] {
                let bodies = received.filter { $0.messageGroupID == group }.map(\.body)
                let expected =
                    entries.filter { $0.messageGroupID == group }.map(\.body) + (group == "g0" ? ["last"] : [])
                #expect(bodies == expected)
            }
            #expect(received.first { $0.body == "Grüße 3 👋" }?.stringAttribute("client") == "c1")
        }
    }

    @Test("DeleteMessageBatch with a bad receipt handle fails that entry alone")
    func partialDelete() async throws {
        try await Moto.withClients { _, sqs in
            let url = try await sqs.createQueue(name: Moto.uniqueName("delete"))
            try await sqs.sendMessages(queueURL: url, (0..<3).map { SQSSendEntry(body: "m\($0)") })
            var messages: [SQSMessage] = []
            while messages.count < 3 {
                messages += try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 1)
            }
            let handles = messages.map(\.receiptHandle)
            let raw = try await sqs.deleteMessageBatch(queueURL: url, receiptHandles: [handles[0], "bogus-handle"])
            #expect(raw.successful == ["0"])
            #expect(raw.failed.map(\.id) == ["1"])
            #expect(raw.failed.first?.code == "ReceiptHandleIsInvalid")
            #expect(raw.failed.first?.senderFault == true)

            let error = await #expect(throws: AWSBatchError.self) {
                try await sqs.deleteMessages(queueURL: url, receiptHandles: [handles[1], "another-bogus", handles[2]])
            }
            #expect(error?.failures.map(\.key) == ["another-bogus"])
            #expect(try await sqs.depth(url) == 0)
        }
    }

    @Test("ChangeMessageVisibility (single and batch) makes a message receivable again at once")
    func visibility() async throws {
        try await Moto.withClients { _, sqs in
            let url = try await sqs.createQueue(name: Moto.uniqueName("visibility"))
            try await sqs.sendMessage(queueURL: url, SQSSendEntry(body: "again"))
            let first = try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 5, visibilityTimeout: 300)
            #expect(first.map(\.body) == ["again"])
            #expect(try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 0).isEmpty)

            try await sqs.changeMessageVisibility(
                queueURL: url,
                receiptHandle: first[0].receiptHandle,
                visibilityTimeout: 0
            )
            let second = try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 5, visibilityTimeout: 300)
            #expect(second.map(\.body) == ["again"])
            #expect(second.first?.receiveCount == 2)

            let batch = try await sqs.changeMessageVisibilityBatch(
                queueURL: url,
                receiptHandles: [second[0].receiptHandle, "bogus"],
                visibilityTimeout: 0
            )
            #expect(batch.successful == ["0"])
            #expect(batch.failed.map(\.id) == ["1"])
            let third = try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 5)
            #expect(third.first?.receiveCount == 3)
        }
    }

    @Test("a long poll waits for its wait time on an empty queue, and cancelling it returns at once")
    func longPoll() async throws {
        let configuration = try Moto.configuration()
        try await AWSHTTPClient.withClient(logger: testLogger) { http in
            let transport = CountingTransport(http)
            let sqs = SQSClient(configuration: configuration, transport: transport, logger: testLogger)
            let url = try await sqs.createQueue(name: Moto.uniqueName("poll"))
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 1).isEmpty)
            #expect(clock.now - start >= .milliseconds(900))

            let before = transport.started
            let poll = Task { try await sqs.receiveMessages(queueURL: url, waitTimeSeconds: 20) }
            try await eventually { transport.started > before }
            let cancelled = clock.now
            poll.cancel()
            await #expect(throws: CancellationError.self) { try await poll.value }
            // Far below the poll's 20 s; room for the loaded parallel suite.
            #expect(clock.now - cancelled < .seconds(10))
        }
    }
}
