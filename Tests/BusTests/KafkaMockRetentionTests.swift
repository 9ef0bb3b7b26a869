import Testing

@testable import Bus

/// Why the benchmark's committing consumer stopped at about 57,400 of 100,001 messages:
/// librdkafka 2.0's mock cluster keeps at most 5 MiB (and 100,000 message sets) per partition
/// and deletes the oldest message sets beyond that, like retention on a real broker. There is no
/// API to change those limits in 2.0.2; the partitions' low watermarks show what was deleted.
@Suite("Kafka mock cluster retention", .timeLimit(.minutes(3)))
struct KafkaMockRetentionTests {
    @Test("a backlog larger than 5 MiB per partition loses its oldest messages: the low watermarks move")
    func mockClusterDeletesTheOldestMessages() async throws {
        try await withDeadline(.seconds(150), "mock retention") {
            let partitions: Int32 = 6
            let test = try TestCluster(partitions: partitions)
            let publisher = try test.publisher()
            // The size of a relayed envelope (about 550 bytes of JSON).
            let sent = makeMessages(100_000, keys: (0..<64).map { "user-\($0)" }, payloadSize: 550)
            let subscriber = try test.subscriber(group: "retention")
            try await withServices([publisher]) {
                for chunk in stride(from: 0, to: sent.count, by: 5_000) {
                    try await publisher.publish(Array(sent[chunk..<min(chunk + 5_000, sent.count)]))
                }
            }
            let marks = try await subscriber.watermarks(partitions: Array(0..<partitions))
            let published = marks.values.reduce(0) { $0 + $1.high }
            let available = marks.values.reduce(0) { $0 + $1.available }
            let perPartition = (0..<partitions).map { "p\($0): \(marks[$0]!.low)..<\(marks[$0]!.high)" }
            print(
                "mock retention: \(sent.count) messages of \(sent[0].payload.count) bytes published, "
                    + "\(published) offsets written, \(available) still available; \(perPartition.joined(separator: ", "))"
            )
            #expect(published == Int64(sent.count))
            #expect(marks.values.allSatisfy { $0.low > 0 }, "every partition deleted its oldest messages")
            // 5 MiB of ~620-byte records (payload, key, header and record overhead) per partition.
            #expect(available < 70_000)

            let collector = Collector(subscriber)
            try await withServices([subscriber]) {
                _ = try await collector.wait(forCount: Int(available))
                // Window: a consumer that received more than is left (deleted offsets) would deliver
                // it within 500 ms (ten 50 ms polls).
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(collector.messages.count == Int(available), "a consumer receives what is left, no more")
            for partition in 0..<partitions {
                let first = collector.messages.first { $0.partition == partition }?.offset
                #expect(first == marks[partition]!.low, "partition \(partition) starts at its low watermark")
            }
        }
    }
}
