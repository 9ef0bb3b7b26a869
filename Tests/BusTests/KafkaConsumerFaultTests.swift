import Testing

@testable import Bus

/// Issue #10, finding 11: the consumer's commits, back-pressure and rebalances.
@Suite("Kafka consumer faults", .timeLimit(.minutes(2)))
struct KafkaConsumerFaultTests {
    /// (b) A member whose consumer stopped reading (a projector stuck retrying) keeps serving the
    /// group: it gives up partitions in a rebalance at once, not after `max.poll.interval.ms`.
    ///
    /// Eager rebalancing only: librdkafka 2.0.2 can abort destroying a `cooperative-sticky` member
    /// (`rd_kafka_sticky_assignor_state_destroy: Assertion 'assignor_state' failed`, fixed in 2.3.0).
    @Test("a member whose buffer is full still takes part in a rebalance")
    func rebalanceWhileBackPressured() async throws {
        let strategy = "range,roundrobin"
        try await withDeadline(.seconds(60), "rebalance while back-pressured") {
            let test = try TestCluster(partitions: 4)
            let publisher = try test.publisher()
            let extra = ["partition.assignment.strategy": strategy]
            let stuck = try test.subscriber(group: "stuck", extra: extra) {
                $0.bufferHighWatermark = 5
                $0.bufferLowWatermark = 2
            }
            try await withServices([publisher, stuck]) {
                try await eventually { stuck.assignedPartitions == [0, 1, 2, 3] }
                try await publisher.publish(makeMessages(200, keys: (1...16).map { "user-\($0)" }))
                // Nobody reads: the buffer fills and the run loop takes no more messages.
                try await eventually { stuck.bufferedTotal >= 5 }
                try await Task.sleep(for: .milliseconds(500))
                #expect(stuck.isPaused)
                let buffered = stuck.bufferedTotal

                let second = try test.subscriber(group: "stuck", extra: extra)
                let collector = Collector(second)
                try await withServices([second]) {
                    // max.poll.interval.ms is 10 s here: a member that is not polled leaves only then.
                    try await withDeadline(.seconds(8), "the stuck member gives up partitions") {
                        try await eventually {
                            stuck.assignedPartitions.count == 2 && second.assignedPartitions.count == 2
                        }
                    }
                    _ = try await collector.wait(forCount: 1)
                }
                #expect(stuck.bufferedTotal - buffered <= 10, "back-pressure held: \(stuck.bufferedTotal)")
            }
        }
    }
}
