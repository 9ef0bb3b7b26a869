import Bus
import Synchronization
import Testing

/// What a publish does while the brokers are unreachable: librdkafka keeps the messages and retries,
/// so `publish` waits; it succeeds once a broker is back within `message.timeout.ms`, and throws
/// `deliveryFailed` (`_MSG_TIMED_OUT`) if the outage lasts longer.
@Suite("Kafka broker outages", .timeLimit(.minutes(1)))
struct KafkaOutageTests {
    @Test("a publish during an outage waits, then succeeds once the brokers are back, without duplicates")
    func publishWaitsOutOutage() async throws {
        try await withDeadline(.seconds(40), "publish through outage") {
            let test = try TestCluster(partitions: 2)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "outage")
            let collector = Collector(subscriber)
            let warmUp = makeMessages(1, keys: ["alice"], prefix: "warm")
            let during = makeMessages(5, keys: ["alice", "bob"], prefix: "outage")

            try await withServices([publisher, subscriber]) {
                try await publisher.publish(warmUp)
                try test.cluster.setBrokerDown(KafkaMockCluster.allBrokers)

                let finished = Mutex(false)
                let publishing = Task {
                    try await publisher.publish(during)
                    finished.withLock { $0 = true }
                }
                // Window: publish must not return while every broker is down; 1.5 s is many
                // retries (retry.backoff.ms 20) and reconnects, well short of message.timeout.ms.
                try await Task.sleep(for: .milliseconds(1500))
                #expect(finished.withLock { $0 } == false, "publish returned while every broker was down")

                try test.cluster.setBrokerUp(KafkaMockCluster.allBrokers)
                try await publishing.value

                _ = try await collector.wait(forCount: 6)
                // Window: duplicates of the retried messages would arrive within 300 ms (six 50 ms polls).
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(collector.messages.map(\.message).sorted { $0.eventID < $1.eventID } == (during + warmUp))
        }
    }

    @Test("a publish fails with deliveryFailed when the outage outlasts message.timeout.ms")
    func publishFailsAfterMessageTimeout() async throws {
        try await withDeadline(.seconds(30), "publish timeout") {
            let test = try TestCluster(partitions: 1)
            let publisher = try test.publisher(extra: ["message.timeout.ms": "1500"])

            try await withServices([publisher]) {
                try await publisher.publish(makeMessages(1, keys: ["alice"], prefix: "warm"))
                try test.cluster.setBrokerDown(KafkaMockCluster.allBrokers)

                let error = await #expect(throws: KafkaError.self) {
                    try await publisher.publish(makeMessages(3, keys: ["alice"], prefix: "lost"))
                }
                #expect(error?.code == .deliveryFailed)
                #expect(error?.rdKafkaName == "_MSG_TIMED_OUT")

                try test.cluster.setBrokerUp(KafkaMockCluster.allBrokers)
                try await publisher.publish(makeMessages(1, keys: ["alice"], prefix: "after"))
            }
        }
    }

    @Test("retriable produce errors are retried transparently and the idempotent producer writes each message once")
    func retriableProduceErrors() async throws {
        try await withDeadline(.seconds(30), "retriable produce errors") {
            let test = try TestCluster(partitions: 1)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "retries")
            let collector = Collector(subscriber)
            let sent = makeMessages(10, keys: ["alice"])

            try await withServices([publisher, subscriber]) {
                try await publisher.publish(makeMessages(1, keys: ["alice"], prefix: "warm"))
                try test.cluster.failNextRequests(
                    .produce,
                    with: [.notLeaderForPartition, .notEnoughReplicas, .requestTimedOut, .transport]
                )
                try await publisher.publish(sent)
                _ = try await collector.wait(forCount: 11)
                // Window: duplicates of the retried messages would arrive within 300 ms (six 50 ms polls).
                try await Task.sleep(for: .milliseconds(300))
            }
            #expect(collector.messages.map(\.message) == makeMessages(1, keys: ["alice"], prefix: "warm") + sent)
        }
    }
}
