import Bus
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Quiet by default; `BUS_TEST_LOG_LEVEL=debug swift test` shows what librdkafka does.
let testLogger: Logger = {
    var logger = Logger(label: "bus-tests")
    let level = ProcessInfo.processInfo.environment["BUS_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
    logger.logLevel = level ?? .critical
    return logger
}()

/// A mock cluster with one topic, and configurations tuned so the tests run in seconds.
struct TestCluster {
    let cluster: KafkaMockCluster
    let topic: String

    init(partitions: Int32, brokers: Int = 3, topic: String = "events") throws {
        self.cluster = try KafkaMockCluster(brokers: brokers, logger: testLogger)
        self.topic = topic
        try self.cluster.createTopic(topic, partitions: partitions)
    }

    /// Settings that make reconnects and metadata refreshes fast against a local mock.
    private static let fastCommon = [
        "topic.metadata.refresh.interval.ms": "500",
        "reconnect.backoff.ms": "20",
        "reconnect.backoff.max.ms": "200",
        "socket.connection.setup.timeout.ms": "2000",
    ]

    func publisherConfiguration(extra: [String: String] = [:]) -> KafkaConfiguration {
        var configuration = KafkaConfiguration(
            bootstrapServers: self.cluster.bootstrapServers,
            topic: self.topic,
            clientID: "test-publisher",
            extra: Self.fastCommon.merging(["linger.ms": "1", "retry.backoff.ms": "20"]) { $1 }.merging(extra) { $1 }
        )
        configuration.pollTimeout = .milliseconds(50)
        configuration.shutdownFlushTimeout = .seconds(5)
        return configuration
    }

    func subscriberConfiguration(extra: [String: String] = [:]) -> KafkaConfiguration {
        var configuration = KafkaConfiguration(
            bootstrapServers: self.cluster.bootstrapServers,
            topic: self.topic,
            clientID: "test-subscriber",
            extra: Self.fastCommon.merging([
                // librdkafka 2.0's mock holds a group's first JoinGroup for a fixed 3 s and drops members
                // whose session expires meanwhile, so the session must outlast that; after a membership
                // change it waits (session timeout - 1 s) for the members to rejoin.
                "session.timeout.ms": "4000",
                "heartbeat.interval.ms": "100",
                "max.poll.interval.ms": "10000",
                "fetch.wait.max.ms": "50",
                "fetch.error.backoff.ms": "50",
            ]) { $1 }.merging(extra) { $1 }
        )
        configuration.pollTimeout = .milliseconds(50)
        return configuration
    }

    func publisher(extra: [String: String] = [:]) throws -> KafkaPublisher {
        try KafkaPublisher(configuration: self.publisherConfiguration(extra: extra), logger: testLogger)
    }

    /// Publishes `messages` as a backlog, in batches of `batch`, with a publisher of its own
    /// that is shut down before this returns.
    func publishBacklog(_ messages: [BusMessage], batch: Int = 2_000) async throws {
        let publisher = try self.publisher()
        try await withServices([publisher]) {
            for start in stride(from: 0, to: messages.count, by: batch) {
                try await publisher.publish(Array(messages[start..<min(start + batch, messages.count)]))
            }
        }
    }

    func subscriber(
        group: String,
        extra: [String: String] = [:],
        configure: (inout KafkaConfiguration) -> Void = { _ in }
    ) throws -> KafkaSubscriber {
        var configuration = self.subscriberConfiguration(extra: extra)
        configure(&configuration)
        return try KafkaSubscriber(configuration: configuration, groupID: group, logger: testLogger)
    }
}

/// Runs `services` in a ServiceGroup around `body`, then shuts them down gracefully, bounded in time.
func withServices<T>(
    _ services: [any Service],
    shutdownTimeout: Duration = .seconds(30),
    _ body: () async throws -> T
) async throws -> T {
    let group = ServiceGroup(services: services, logger: testLogger)
    let running = Task { try await group.run() }
    let result = await Result { try await body() }
    try await withDeadline(shutdownTimeout, "graceful shutdown") {
        await group.triggerGracefulShutdown()
        try await running.value
    }
    return try result.get()
}

/// Drains a subscriber's single message sequence in the background, so a test can look at what
/// arrived at any time; optionally commits each message after recording it.
final class Collector: Sendable {
    private let received = Mutex<[ReceivedMessage]>([])
    private let failure = Mutex<(any Error)?>(nil)
    private let task: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(
        _ subscriber: KafkaSubscriber,
        commit shouldCommit: @escaping @Sendable (ReceivedMessage) -> Bool = { _ in false }
    ) {
        let task = Task { [self] in
            do {
                for try await message in subscriber.messages {
                    if shouldCommit(message) { try await subscriber.commit(message) }
                    self.received.withLock { $0.append(message) }
                }
            } catch {
                self.failure.withLock { $0 = error }
            }
        }
        self.task.withLock { $0 = task }
    }

    var messages: [ReceivedMessage] { self.received.withLock { $0 } }
    var error: (any Error)? { self.failure.withLock { $0 } }

    /// Waits until at least `count` messages arrived; throws what ended the sequence, if anything did.
    func wait(forCount count: Int) async throws -> [ReceivedMessage] {
        while true {
            if let error = self.error { throw error }
            let messages = self.messages
            if messages.count >= count { return messages }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the sequence to end (the subscriber finished).
    func waitForEnd() async {
        await self.task.withLock { $0 }?.value
    }
}

/// Polls `condition` every 20 ms until it holds.
func eventually(_ condition: () -> Bool) async throws {
    while !condition() {
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// `count` messages spread round-robin over `keys`, with numbered event ids and payloads (padded
/// with a `pad` field to `payloadSize` bytes, if given).
func makeMessages(_ count: Int, keys: [String], prefix: String = "e", payloadSize: Int = 0) -> [BusMessage] {
    (0..<count).map { index in
        let key = keys[index % keys.count]
        let eventID = "\(prefix)-\(index)"
        var payload = #"{"event_id":"\#(eventID)","stream_id":"\#(key)","position":\#(index)"#
        let padding = payloadSize - payload.utf8.count - #","pad":""}"#.utf8.count
        if padding > 0 { payload += #","pad":"\#(String(repeating: "x", count: padding))""# }
        payload += "}"
        return BusMessage(key: key, eventID: eventID, payload: Array(payload.utf8))
    }
}
