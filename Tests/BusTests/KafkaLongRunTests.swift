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

    /// The benchmark once hung here for good: a projector stopped in the middle of a backlog it was
    /// committing, inside `rd_kafka_destroy`'s consumer close. Every round stops a committing
    /// member mid-stream; the next one resumes from its commits.
    @Test("a committing consumer stopped mid-backlog shuts down in bounded time, round after round")
    func stoppingACommittingConsumerMidBacklog() async throws {
        try await withDeadline(.seconds(150), "stops mid-backlog") {
            let test = try TestCluster(partitions: 6)
            let publisher = try test.publisher()
            let sent = makeMessages(20_000, keys: (0..<64).map { "user-\($0)" })
            try await withServices([publisher]) {
                for chunk in stride(from: 0, to: sent.count, by: 2_000) {
                    try await publisher.publish(Array(sent[chunk..<min(chunk + 2_000, sent.count)]))
                }
            }
            let clock = ContinuousClock()
            var received = 0
            for round in 0..<8 {
                let subscriber = try test.subscriber(group: "stopped-mid-backlog")
                var stopping: ContinuousClock.Instant?
                try await withServices([subscriber], shutdownTimeout: .seconds(20)) {
                    let collector = Collector(subscriber, commit: { _ in true })
                    _ = try await collector.wait(forCount: 300)
                    stopping = clock.now
                }
                let elapsed = clock.now - stopping!
                #expect(elapsed < .seconds(10), "round \(round): the shutdown took \(elapsed)")
                received += subscriber.bufferedTotal
            }
            #expect(received >= 8 * 300)
        }
    }
}
