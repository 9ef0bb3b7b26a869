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
            try await test.publishBacklog(makeMessages(20_000, keys: (0..<64).map { "user-\($0)" }))
            let clock = ContinuousClock()
            for round in 0..<5 {
                let subscriber = try test.subscriber(group: "stopped-mid-backlog")
                var stopping: ContinuousClock.Instant?
                try await withServices([subscriber], shutdownTimeout: .seconds(20)) {
                    let collector = Collector(subscriber, commit: { _ in true })
                    _ = try await collector.wait(forCount: 300)
                    stopping = clock.now
                }
                let elapsed = clock.now - stopping!
                #expect(elapsed < .seconds(10), "round \(round): the shutdown took \(elapsed)")
                #expect(subscriber.closeOutcome == .closed, "round \(round)")
            }
        }
    }

    /// A consumer that cannot leave its group in time (every broker down as it stops, and no time
    /// given: a close timeout of zero) must not hold up the shutdown: the close goes on in the background on the
    /// consumer's thread, which destroys the consumer once librdkafka is done (the brokers back),
    /// and the group goes on working for the next member.
    @Test("a consumer close past its timeout finishes in the background, without holding up the shutdown")
    func aCloseThatTimesOutFinishesInTheBackground() async throws {
        try await withDeadline(.seconds(90), "close in the background") {
            let test = try TestCluster(partitions: 3)
            try await test.publishBacklog(makeMessages(5_000, keys: (0..<16).map { "user-\($0)" }), batch: 5_000)

            let first = try test.subscriber(group: "close-in-background") { $0.consumerCloseTimeout = .zero }
            let clock = ContinuousClock()
            var stopping: ContinuousClock.Instant?
            try await withServices([first], shutdownTimeout: .seconds(20)) {
                _ = try await Collector(first, commit: { _ in true }).wait(forCount: 300)
                try test.cluster.setBrokerDown(KafkaMockCluster.allBrokers)
                stopping = clock.now
            }
            let elapsed = clock.now - stopping!
            #expect(elapsed < .seconds(3), "the shutdown took \(elapsed)")
            #expect(first.closeOutcome == .stillClosingInBackground)
            // While the close goes on, other calls fail at once instead of waiting behind it.
            let lag = await #expect(throws: KafkaError.self) { try await first.lag(timeout: .seconds(1)) }
            #expect(lag?.code == .shutDown)
            try test.cluster.setBrokerUp(KafkaMockCluster.allBrokers)
            // Bounded by the test's deadline.
            try await eventually { first.isDestroyed }

            let second = try test.subscriber(group: "close-in-background")
            try await withServices([second], shutdownTimeout: .seconds(20)) {
                _ = try await Collector(second, commit: { _ in true }).wait(forCount: 300)
            }
            #expect(second.closeOutcome == .closed)
            #expect(second.isDestroyed)
        }
    }
}
