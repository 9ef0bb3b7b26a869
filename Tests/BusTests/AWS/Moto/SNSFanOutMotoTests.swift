import Bus
import Foundation
import Testing

/// SNS topic -> SQS queue fan-out through SNSPublisher, against moto_server.
@Suite("SNS to SQS fan-out against moto", .timeLimit(.minutes(2)))
struct SNSFanOutMotoTests {
    /// A topic and a queue of the same kind, the queue subscribed (raw delivery or not).
    struct Pair {
        var topicARN: String
        var queueURL: String
        var subscriptionARN: String
    }

    func makePair(_ sns: SNSClient, _ sqs: SQSClient, fifo: Bool, raw: Bool) async throws -> Pair {
        let topicARN = try await sns.createTopic(name: Moto.uniqueName("topic", fifo: fifo), fifo: fifo)
        let queueURL = try await sqs.createQueue(
            name: Moto.uniqueName("queue", fifo: fifo),
            attributes: fifo ? ["FifoQueue": "true"] : [:]
        )
        let queueARN = try await sqs.queueARN(queueURL)
        try await sqs.setQueueAttributes(
            queueURL: queueURL,
            attributes: ["Policy": SQSQueueAttributes.allowTopicPolicy(queueARN: queueARN, topicARN: topicARN)]
        )
        let subscriptionARN = try await sns.subscribe(
            topicARN: topicARN,
            endpoint: queueARN,
            attributes: raw ? ["RawMessageDelivery": "true"] : [:]
        )
        return Pair(topicARN: topicARN, queueURL: queueURL, subscriptionARN: subscriptionARN)
    }

    @Test("FIFO: raw delivery keeps bodies, attributes and per-user order; a re-publish is deduplicated")
    func fifoRaw() async throws {
        try await Moto.withClients { sns, sqs in
            let pair = try await self.makePair(sns, sqs, fifo: true, raw: true)
            #expect(try await sns.getTopicAttributes(topicARN: pair.topicARN)["FifoTopic"] == "true")
            #expect(
                try await sns.getSubscriptionAttributes(subscriptionARN: pair.subscriptionARN)["RawMessageDelivery"]
                    == "true"
            )
            let publisher = SNSPublisher(client: sns, topicARN: pair.topicARN, logger: testLogger)
            #expect(publisher.isFIFO)
            let keys = ["alice", "bob", "carol"]
            let sent = makeMessages(35, keys: keys, prefix: UUID().uuidString)
            try await publisher.publish(sent)
            // The same event ids again: dropped by FIFO deduplication. (moto compares with the messages
            // still in the queue only, so this must happen before they are received and deleted.)
            try await publisher.publish(Array(sent[10..<20]))

            let received = try await sqs.drain(queueURL: pair.queueURL, count: sent.count)
            #expect(received.count == sent.count)
            #expect(Set(try received.map { try $0.busMessage() }) == Set(sent))
            for message in received {
                let bus = try message.busMessage()
                #expect(message.body == String(decoding: bus.payload, as: UTF8.self))
                #expect(message.stringAttribute("event_id") == bus.eventID)
                #expect(message.stringAttribute("stream_id") == bus.key)
                #expect(message.messageGroupID == bus.key)
                #expect(message.attributes["MessageDeduplicationId"] == bus.eventID)
                #expect(message.receiveCount == 1)
                #expect(message.sentTimestampMilliseconds != nil)
            }
            for key in keys {
                let order = try received.map { try $0.busMessage() }.filter { $0.key == key }.map(\.eventID)
                #expect(order == sent.filter { $0.key == key }.map(\.eventID), "order of \(key)")
            }
            // moto fans out inside Publish, so nothing more can arrive: no duplicate is left behind.
            #expect(try await sqs.depth(pair.queueURL) == 0)
        }
    }

    @Test("standard: SNS's notification envelope, then raw delivery after SetSubscriptionAttributes")
    func standardWrappedThenRaw() async throws {
        try await Moto.withClients { sns, sqs in
            let pair = try await self.makePair(sns, sqs, fifo: false, raw: false)
            let publisher = SNSPublisher(client: sns, topicARN: pair.topicARN, logger: testLogger)
            #expect(!publisher.isFIFO)
            let wrapped = makeMessages(12, keys: ["42", "43"], prefix: "wrapped")
            try await publisher.publish(wrapped)
            let envelopes = try await sqs.drain(queueURL: pair.queueURL, count: wrapped.count)
            #expect(envelopes.count == wrapped.count)
            #expect(envelopes.allSatisfy { SNSNotification(body: $0.body)?.topicARN == pair.topicARN })
            #expect(Set(try envelopes.map { try $0.busMessage() }) == Set(wrapped))

            try await sns.setSubscriptionAttributes(
                subscriptionARN: pair.subscriptionARN,
                name: "RawMessageDelivery",
                value: "true"
            )
            let raw = makeMessages(7, keys: ["42"], prefix: "raw")
            try await publisher.publish(raw)
            let bodies = try await sqs.drain(queueURL: pair.queueURL, count: raw.count)
            #expect(bodies.allSatisfy { SNSNotification(body: $0.body) == nil })
            #expect(Set(try bodies.map { try $0.busMessage() }) == Set(raw))
        }
    }

    @Test("an entry SNS rejects is reported by event id while the rest of its batch is delivered")
    func partialPublishFailure() async throws {
        try await Moto.withClients { sns, sqs in
            let pair = try await self.makePair(sns, sqs, fifo: false, raw: true)
            let publisher = SNSPublisher(client: sns, topicARN: pair.topicARN, logger: testLogger)
            var messages = makeMessages(5, keys: ["7"], prefix: "partial")
            // Over SNS's 256 KiB limit: moto rejects this entry alone, with InvalidParameter.
            messages[2].payload = Array(#"{"padding":"\#(String(repeating: "x", count: 300_000))"}"#.utf8)
            let error = await #expect(throws: AWSBatchError.self) { try await publisher.publish(messages) }
            #expect(error?.failures.map(\.key) == ["partial-2"])
            #expect(error?.failures.first?.failure.code == "InvalidParameter")
            #expect(error?.failures.first?.failure.senderFault == true)
            let delivered = try await sqs.drain(queueURL: pair.queueURL, count: 4)
            #expect(
                Set(delivered.map { $0.stringAttribute("event_id") }) == [
                    "partial-0", "partial-1", "partial-3", "partial-4",
                ]
            )
        }
    }

    @Test("publishing to a topic that does not exist is a typed not-found error")
    func missingTopic() async throws {
        try await Moto.withClients { sns, _ in
            let publisher = SNSPublisher(
                client: sns,
                topicARN: "arn:aws:sns:us-east-1:123456789012:\(Moto.uniqueName("missing"))",
                logger: testLogger
            )
            let error = await #expect(throws: AWSError.self) {
                try await publisher.publish(makeMessages(1, keys: ["1"]))
            }
            #expect(error?.code == .notFound)
            #expect(error?.awsCode == "NotFound")
            #expect(error?.httpStatus == 404)
            #expect(error?.requestID?.isEmpty == false)
        }
    }
}
