import Testing

@testable import Bus

@Suite("Kafka consumer lag", .timeLimit(.minutes(1)))
struct KafkaLagTests {
    /// Lag is counted from the group's committed offset, not from what the consumer has fetched:
    /// a consumer whose buffer is full (partitions paused, watermarks asked of the leader) and one
    /// that has fetched everything without committing report the same backlog.
    @Test("lag is the messages after the committed offset, per owned partition, and falls to 0 as they are committed")
    func lagFollowsCommits() async throws {
        try await withDeadline(.seconds(40), "consumer lag") {
            let test = try TestCluster(partitions: 2)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "lag") {
                $0.bufferHighWatermark = 4
                $0.bufferLowWatermark = 2
            }
            let sent = makeMessages(30, keys: (1...8).map { "user-\($0)" })

            try await withServices([publisher, subscriber]) {
                try await publisher.publish(sent)
                try await eventually { subscriber.assignedPartitions == [0, 1] }
                // Nobody reads the messages: the buffer fills, the partitions are paused.
                try await eventually { subscriber.isPaused }
                var lags: [PartitionLag] = []
                while lags.map(\.messages).reduce(0, +) != Int64(sent.count) {
                    try await Task.sleep(for: .milliseconds(20))
                    lags = try await subscriber.lag()
                }
                #expect(lags.map(\.partition.partition).sorted() == [0, 1])
                #expect(lags.allSatisfy { $0.committed == nil && $0.messages == $0.high })

                // Read everything, commit all but the last message of each partition: one left.
                let highs = Dictionary(uniqueKeysWithValues: lags.map { ($0.partition.partition, $0.high) })
                let collector = Collector(subscriber) { $0.offset < highs[$0.partition]! - 1 }
                let received = try await collector.wait(forCount: sent.count)
                lags = try await subscriber.lag()
                #expect(lags.count == 2)
                #expect(lags.allSatisfy { $0.messages == 1 && $0.committed == $0.high - 1 })

                for last in received where last.offset == highs[last.partition]! - 1 {
                    try await subscriber.commit(last)
                }
                lags = try await subscriber.lag()
                #expect(lags.count == 2)
                #expect(lags.allSatisfy { $0.messages == 0 && $0.committed == $0.high })
            }
        }
    }
}
