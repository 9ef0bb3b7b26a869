import Testing

@testable import Bus

@Suite("Kafka long run", .timeLimit(.minutes(3)))
struct KafkaLongRunTests {
    @Test("a consumer committing every message receives a large backlog to the end")
    func committingConsumerDrainsALargeBacklog() async throws {
        try await withDeadline(.seconds(150), "large backlog") {
            let test = try TestCluster(partitions: 6)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "long-run")
            let sent = makeMessages(30_000, keys: (0..<64).map { "user-\($0)" })
            try await withServices([publisher, subscriber]) {
                for chunk in stride(from: 0, to: sent.count, by: 2_000) {
                    try await publisher.publish(Array(sent[chunk..<min(chunk + 2_000, sent.count)]))
                }
                let collector = Collector(subscriber, commit: { _ in true })
                let received = try await collector.wait(forCount: sent.count)
                #expect(received.count == sent.count)
            }
        }
    }
}
