import API
import AlmanacTestSupport
import Bus
import Domain
import EventStore
import Foundation
import Logging
import PostgresNIO
import Projector
import ServiceLifecycle
import Testing

/// relay -> Kafka (librdkafka's mock cluster, a real protocol implementation) -> projector group.
@Suite("Fan-out over Kafka", .serialized)
struct KafkaFanOutTests {
    static let logger: Logger = {
        var logger = Logger(label: "kafka-fan-out")
        logger.logLevel = .critical
        return logger
    }()

    struct Cluster {
        let mock: KafkaMockCluster
        let topic = "almanac.events"

        init(partitions: Int32 = 4) throws {
            mock = try KafkaMockCluster(brokers: 3, logger: KafkaFanOutTests.logger)
            try mock.createTopic(topic, partitions: partitions)
        }

        static let fast = [
            "topic.metadata.refresh.interval.ms": "500", "reconnect.backoff.ms": "20",
            "reconnect.backoff.max.ms": "200",
            "socket.connection.setup.timeout.ms": "2000",
        ]

        func publisher() throws -> KafkaPublisher {
            var configuration = KafkaConfiguration(
                bootstrapServers: mock.bootstrapServers,
                topic: topic,
                clientID: "relay",
                extra: Self.fast.merging(["linger.ms": "1", "retry.backoff.ms": "20"]) { $1 }
            )
            configuration.pollTimeout = .milliseconds(50)
            return try KafkaPublisher(configuration: configuration, logger: KafkaFanOutTests.logger)
        }

        func subscriber(_ name: String) throws -> KafkaSubscriber {
            var configuration = KafkaConfiguration(
                bootstrapServers: mock.bootstrapServers,
                topic: topic,
                clientID: name,
                extra: Self.fast.merging([
                    // librdkafka 2.0's mock holds a group's first join for 3 s: sessions must outlast it.
                    "session.timeout.ms": "4000", "heartbeat.interval.ms": "100", "max.poll.interval.ms": "20000",
                    "fetch.wait.max.ms": "50", "fetch.error.backoff.ms": "50",
                ]) { $1 }
            )
            configuration.pollTimeout = .milliseconds(50)
            return try KafkaSubscriber(
                configuration: configuration,
                groupID: "projectors",
                logger: KafkaFanOutTests.logger
            )
        }
    }

    /// The relay and one projector member, as `serve --bus kafka` wires them.
    static func pipeline(_ cluster: Cluster, store: EventStore, member: String) throws -> ServiceGroup {
        let publisher = try cluster.publisher()
        let subscriber = try cluster.subscriber(member)
        return ServiceGroup(
            services: [
                publisher, OutboxRelay(store: store, publisher: publisher),
                subscriber, KafkaProjector(subscriber: subscriber, writer: ProjectionWriter(store: store)),
            ],
            logger: logger
        )
    }

    /// Runs `group` while `body` runs, then shuts it down gracefully.
    static func whileRunning(_ group: ServiceGroup, _ body: () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Writes scripted command sequences for `users` new users through the command path.
    static func writeEvents(_ services: AlmanacServices, users: Int, seed: Int) async throws -> [Int64] {
        var ids: [Int64] = []
        for index in 0..<users {
            let user = try await services.users.create(name: "user-\(seed)-\(index)").user.id
            ids.append(user)
            try await append(services, user: user, codes: Array(stride(from: seed + index, to: 4000, by: 97 + index)))
        }
        return ids
    }

    static func append(_ services: AlmanacServices, user: Int64, codes: [Int]) async throws {
        let events = CommandScript.events(codes).dropFirst()  // the user is already registered
        var version = try await services.store.version(of: user)
        for chunk in stride(from: 0, to: events.count, by: 5) {
            let slice = Array(events.dropFirst(chunk).prefix(5))
            try await services.store.withTransaction { connection in
                try await services.commands.append(slice, user: user, expectedVersion: version, on: connection)
            }
            version += Int64(slice.count)
        }
    }

    /// Waits until every user's calendar has reached its stream version.
    static func waitForProjection(_ store: EventStore, users: [Int64], timeout: Duration = .seconds(90)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var behind = false
            for user in users {
                let stream = try await store.version(of: user)
                let projected = try await store.client.withConnection {
                    try await CalendarStore(logger: store.logger).head(user: user, on: $0)?.version ?? 0
                }
                if projected < stream { behind = true }
            }
            if !behind { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the projection did not catch up in \(timeout)")
    }

    /// Runs a fresh pipeline until every calendar has caught up, then checks each against a full
    /// regeneration from the store.
    static func catchUpAndCompare(_ cluster: Cluster, store: EventStore, users: [Int64], member: String) async throws {
        try await whileRunning(try pipeline(cluster, store: store, member: member)) {
            try await waitForProjection(store, users: users)
        }
        try await expectFeedsEqualFullRegeneration(store, users: users)
    }

    static func expectFeedsEqualFullRegeneration(_ store: EventStore, users: [Int64]) async throws {
        for user in users {
            for variant in FeedVariant.allCases {
                let comparison = try #require(
                    try await CalendarRebuilder(store: store).compare(user: user, variant: variant)
                )
                #expect(comparison.version == (try await store.version(of: user)))
                #expect(comparison.matches, "user \(user) \(variant)")
            }
        }
    }

    @Test func twoProjectorsInOneGroupSplitThePartitionsAndProduceTheEmbeddedFeeds() async throws {
        let cluster = try Cluster(partitions: 4)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await Self.writeEvents(services, users: 8, seed: 1)
            let publisher = try cluster.publisher()
            let a = try cluster.subscriber("projector-a")
            let b = try cluster.subscriber("projector-b")
            let group = ServiceGroup(
                services: [
                    publisher, OutboxRelay(store: store, publisher: publisher),
                    a, KafkaProjector(subscriber: a, writer: ProjectionWriter(store: store)),
                    b, KafkaProjector(subscriber: b, writer: ProjectionWriter(store: store)),
                ],
                logger: Self.logger
            )
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                try await Self.waitForProjection(store, users: users)
                // More writes while both members run.
                for user in users.prefix(3) { try await Self.append(services, user: user, codes: [0, 1, 2, 7, 5]) }
                try await Self.waitForProjection(store, users: users)
                let assignedA = a.assignedPartitions
                let assignedB = b.assignedPartitions
                #expect(!assignedA.isEmpty && !assignedB.isEmpty, "a: \(assignedA), b: \(assignedB)")
                #expect(Set(assignedA).isDisjoint(with: assignedB))
                #expect(Set(assignedA + assignedB) == [0, 1, 2, 3])
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            try await Self.expectFeedsEqualFullRegeneration(store, users: users)
        }
    }

    /// SIGTERM while the projector is busy with a backlog: the group stops without an error, and
    /// the next run picks up where the committed offsets left off.
    @Test func gracefulShutdownWhileBusyIsCleanAndResumable() async throws {
        let cluster = try Cluster(partitions: 2)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await Self.writeEvents(services, users: 40, seed: 3)
            let group = try Self.pipeline(cluster, store: store, member: "projector-busy")
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Shut down as soon as the first calendar appears, with most of the backlog left.
                let deadline = ContinuousClock.now + .seconds(60)
                while ContinuousClock.now < deadline {
                    let started = try await store.client.withConnection { connection in
                        try await CalendarStore(logger: store.logger).head(user: users[0], on: connection) != nil
                    }
                    if started { break }
                    try await Task.sleep(for: .milliseconds(2))
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            try await Self.catchUpAndCompare(cluster, store: store, users: users, member: "projector-after")
        }
    }

    @Test func killingTheRelayOrAProjectorMidStreamLosesAndDuplicatesNothing() async throws {
        let cluster = try Cluster(partitions: 3)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await Self.writeEvents(services, users: 4, seed: 2)
            for round in 0..<3 {
                let group = try Self.pipeline(cluster, store: store, member: "projector-\(round)")
                let running = Task { try await group.run() }
                // Write while it runs, then kill everything abruptly (no graceful shutdown).
                for user in users { try await Self.append(services, user: user, codes: [round, 11 + round, 7, 3]) }
                try await Task.sleep(for: .milliseconds(300 * (round + 1)))
                running.cancel()
                _ = await running.result
            }
            try await Self.catchUpAndCompare(cluster, store: store, users: users, member: "projector-final")
        }
    }

    @Test func aBrokerOutageMakesTheRelayWaitAndThenCatchUp() async throws {
        let cluster = try Cluster(partitions: 2)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await Self.writeEvents(services, users: 2, seed: 3)
            try await Self.whileRunning(try Self.pipeline(cluster, store: store, member: "projector")) {
                try await Self.waitForProjection(store, users: users)
                let before = try await store.client.withConnection {
                    try await CalendarStore(logger: store.logger).head(user: users[0], on: $0)?.version ?? 0
                }
                try cluster.mock.setBrokerDown(KafkaMockCluster.allBrokers)
                try await Self.append(services, user: users[0], codes: [0, 1, 2, 3])
                try await Task.sleep(for: .seconds(2))
                let during = try await store.client.withConnection {
                    try await CalendarStore(logger: store.logger).head(user: users[0], on: $0)?.version ?? 0
                }
                #expect(during == before, "nothing can pass while every broker is down")
                try cluster.mock.setBrokerUp(KafkaMockCluster.allBrokers)
                try await Self.waitForProjection(store, users: users)
            }
            try await Self.expectFeedsEqualFullRegeneration(store, users: users)
        }
    }

    @Test func envelopesRoundTrip() throws {
        let event = TodoEvent.todoCreated(
            TodoCreated(
                todoID: 3,
                uid: "u",
                title: "a \"quoted\", title\n😀",
                description: "",
                completed: false,
                deadline: try Deadline(parsing: "2026-01-01"),
                at: Timestamp(microseconds: 5)
            )
        )
        let recorded = RecordedEvent(
            position: 9,
            txid: 1,
            streamID: 4,
            version: 2,
            eventID: UUID(),
            type: event.type,
            data: EventCoding.encode(event),
            recordedAt: 5
        )
        let message = BusEnvelope.message(for: recorded)
        #expect(message.key == "4")
        let object = try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
        #expect(
            Set(object?.keys.map { $0 } ?? []) == [
                "event_id", "stream_id", "version", "type", "data", "recorded_at", "position",
            ]
        )
        let back = try BusEnvelope.event(from: message)
        #expect(back.streamID == 4 && back.version == 2 && back.eventID == recorded.eventID)
        #expect(try EventCoding.decode(type: back.type, data: back.data) == event)
        #expect(throws: BusEnvelope.Invalid.self) {
            try BusEnvelope.event(from: BusMessage(key: "1", eventID: "x", payload: Array("nope".utf8)))
        }
    }
}
