import Testing

@testable import Bus

@Suite("Kafka shutdown and back-pressure", .timeLimit(.minutes(1)))
struct KafkaShutdownTests {
    @Test("polling stops while the buffer is full and resumes as it drains")
    func backPressure() async throws {
        try await withDeadline(.seconds(30), "back-pressure") {
            let test = try TestCluster(partitions: 1)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "back-pressure") {
                $0.bufferHighWatermark = 10
                $0.bufferLowWatermark = 3
            }
            let sent = makeMessages(100, keys: ["alice"])

            try await withServices([publisher, subscriber]) {
                try await publisher.publish(sent)
                try await eventually { subscriber.bufferedTotal >= 10 && subscriber.isPaused }
                // Window: a loop that went on taking messages despite the pause would buffer more
                // within 500 ms (ten 50 ms polls).
                try await Task.sleep(for: .milliseconds(500))
                // One batch of at most a high watermark can follow the one that filled the buffer.
                #expect(subscriber.bufferedTotal <= 20)

                let collector = Collector(subscriber)
                let received = try await collector.wait(forCount: sent.count)
                #expect(received.map(\.message) == sent)
            }
        }
    }

    @Test(
        "graceful shutdown with a full buffer and nobody reading does not hang; buffered messages drain, then the sequence ends"
    )
    func shutdownWithFullBuffer() async throws {
        try await withDeadline(.seconds(30), "shutdown with full buffer") {
            let test = try TestCluster(partitions: 2)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "full-buffer") {
                $0.bufferHighWatermark = 5
                $0.bufferLowWatermark = 2
            }
            try await withServices([publisher, subscriber]) {
                try await publisher.publish(makeMessages(50, keys: ["alice", "bob", "carol"]))
                try await eventually { subscriber.bufferedTotal >= 5 }
            }
            #expect(subscriber.assignedPartitions.isEmpty)

            var drained: [ReceivedMessage] = []
            for try await message in subscriber.messages { drained.append(message) }
            #expect(drained.count == subscriber.bufferedTotal)

            let error = await #expect(throws: KafkaError.self) { try await subscriber.commit(drained[0]) }
            #expect(error?.code == .shutDown)
        }
    }

    @Test("shutdown fails publishes the brokers never acknowledged, within the flush timeout")
    func shutdownFailsUnacknowledgedPublishes() async throws {
        try await withDeadline(.seconds(30), "shutdown with unacknowledged messages") {
            let test = try TestCluster(partitions: 1)
            var configuration = test.publisherConfiguration()
            configuration.shutdownFlushTimeout = .milliseconds(500)
            let publisher = try KafkaPublisher(configuration: configuration, logger: testLogger)

            let publishing = try await withServices([publisher]) {
                try await publisher.publish(makeMessages(1, keys: ["alice"], prefix: "warm"))
                try test.cluster.setBrokerDown(KafkaMockCluster.allBrokers)
                let publishing = Task { try await publisher.publish(makeMessages(3, keys: ["alice"])) }
                try await eventually { publisher.pendingBatchCount == 1 }
                return publishing
            }
            let error = await #expect(throws: KafkaError.self) { try await publishing.value }
            #expect(error?.code == .deliveryFailed || error?.code == .shutDown)

            let afterwards = await #expect(throws: KafkaError.self) {
                try await publisher.publish(makeMessages(1, keys: ["alice"]))
            }
            #expect(afterwards?.code == .shutDown)
        }
    }

    @Test("a subscriber shuts down in bounded time while every broker is down")
    func subscriberShutdownDuringOutage() async throws {
        try await withDeadline(.seconds(40), "subscriber shutdown during outage") {
            let test = try TestCluster(partitions: 2)
            let subscriber = try test.subscriber(group: "outage-shutdown")
            let clock = ContinuousClock()
            var stopped: ContinuousClock.Instant?
            try await withServices([subscriber], shutdownTimeout: .seconds(20)) {
                try await eventually { subscriber.assignedPartitions == [0, 1] }
                try test.cluster.setBrokerDown(KafkaMockCluster.allBrokers)
                // Window: the run loop polls against the dead cluster (four 50 ms polls) before the
                // shutdown starts; librdkafka reports nothing observable about the lost connections.
                try await Task.sleep(for: .milliseconds(200))
                stopped = clock.now
            }
            let elapsed = clock.now - stopped!
            #expect(elapsed < .seconds(15), "shutdown took \(elapsed)")
            #expect(subscriber.assignedPartitions.isEmpty)
        }
    }

    @Test("commit before run() throws notRunning")
    func commitBeforeRun() async throws {
        let test = try TestCluster(partitions: 1)
        let subscriber = try test.subscriber(group: "idle")
        let message = ReceivedMessage(
            message: BusMessage(key: "alice", eventID: "e-0", payload: []),
            topic: test.topic,
            partition: 0,
            offset: 0
        )
        let error = await #expect(throws: KafkaError.self) { try await subscriber.commit(message) }
        #expect(error?.code == .notRunning)
    }

    @Test("librdkafka rejects an unknown setting when the client is created")
    func invalidSetting() throws {
        let test = try TestCluster(partitions: 1)
        let error = #expect(throws: KafkaError.self) { try test.publisher(extra: ["no.such.setting": "1"]) }
        #expect(error?.code == .invalidConfiguration)
    }
}
