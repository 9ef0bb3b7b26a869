import Bus
import Testing

@Suite("Kafka round trip", .timeLimit(.minutes(1)))
struct KafkaRoundTripTests {
    @Test("published messages come back with their keys, headers and payloads, in order per key")
    func roundTrip() async throws {
        try await withDeadline(.seconds(30), "round trip") {
            let test = try TestCluster(partitions: 4)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "round-trip")
            let keys = ["alice", "bob", "carol", "dave", "erin"]
            let sent = makeMessages(60, keys: keys)
            let collector = Collector(subscriber) { _ in true }

            try await withServices([publisher, subscriber]) {
                for batch in stride(from: 0, to: sent.count, by: 20) {
                    try await publisher.publish(Array(sent[batch..<batch + 20]))
                }
                _ = try await collector.wait(forCount: sent.count)
            }

            let received = collector.messages
            #expect(received.count == sent.count)
            #expect(Set(received.map(\.message)) == Set(sent))
            #expect(received.allSatisfy { $0.topic == test.topic })
            for key in keys {
                let sentOrder = sent.filter { $0.key == key }.map(\.eventID)
                let receivedForKey = received.filter { $0.message.key == key }
                #expect(receivedForKey.map(\.message.eventID) == sentOrder, "order of \(key)")
                // One key, one partition (that is what keeps a user's events in order).
                #expect(Set(receivedForKey.map(\.partition)).count == 1, "partitions of \(key)")
            }
        }
    }
}
