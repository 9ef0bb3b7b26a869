import Testing

@testable import Bus

/// Issue #10, finding 11: the consumer's commits, back-pressure and rebalances.
@Suite("Kafka consumer faults", .timeLimit(.minutes(2)))
struct KafkaConsumerFaultTests {
    /// (a) A commit is asynchronous and bounded: a coordinator that never answers (every broker
    /// down) makes it throw `commitTimedOut` within `commitTimeout`, and the consumer goes on.
    @Test("a commit while every broker is down throws commitTimedOut within the bound")
    func commitDuringOutageIsBounded() async throws {
        try await withDeadline(.seconds(60), "commit during outage") {
            let test = try TestCluster(partitions: 1)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "commit-outage") { $0.commitTimeout = .seconds(1) }
            let collector = Collector(subscriber)
            let sent = makeMessages(3, keys: ["alice"])
            try await withServices([publisher, subscriber], shutdownTimeout: .seconds(20)) {
                try await publisher.publish(sent)
                let received = try await collector.wait(forCount: sent.count)
                try await subscriber.commit(received[0])

                try test.cluster.setBrokerDown(KafkaMockCluster.allBrokers)
                let clock = ContinuousClock()
                let start = clock.now
                let error = await #expect(throws: (any Error).self) {
                    try await withDeadline(.seconds(8), "a commit while every broker is down") {
                        try await subscriber.commit(received[1])
                    }
                }
                let elapsed = clock.now - start
                #expect((error as? KafkaError)?.code == .commitTimedOut, "\(String(describing: error))")
                #expect(elapsed < .seconds(3), "the commit returned after \(elapsed)")

                try test.cluster.setBrokerUp(KafkaMockCluster.allBrokers)
                try await withDeadline(.seconds(15), "a commit once the brokers are back") {
                    while true {
                        do {
                            try await subscriber.commit(received[2])
                            return
                        } catch let error as KafkaError where error.code == .commitTimedOut {
                            continue
                        }
                    }
                }
            }
        }
    }

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
            // A member that is not polled leaves the group only after max.poll.interval.ms: make that
            // much longer than the bound below, which leaves room for the mock's rebalance delay
            // (session timeout - 1 s) on a loaded machine.
            let extra = ["partition.assignment.strategy": strategy, "max.poll.interval.ms": "40000"]
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
                    try await withDeadline(.seconds(20), "the stuck member gives up partitions") {
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
