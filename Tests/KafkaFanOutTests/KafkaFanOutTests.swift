import API
import AlmanacTestSupport
import Domain
import EventStore
import Foundation
import InMemoryTracing
import Logging
import PostgresNIO
import Projector
import Relay
import Runtime
import ServiceLifecycle
import Testing
import Tracing

@testable import Bus

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
            try KafkaPublisher(configuration: publisherConfiguration(), logger: KafkaFanOutTests.logger)
        }

        func publisherConfiguration() -> KafkaConfiguration {
            var configuration = KafkaConfiguration(
                bootstrapServers: mock.bootstrapServers,
                topic: topic,
                clientID: "relay",
                extra: Self.fast.merging(["linger.ms": "1", "retry.backoff.ms": "20"]) { $1 }
            )
            configuration.pollTimeout = .milliseconds(50)
            return configuration
        }

        func subscriber(_ name: String) throws -> KafkaSubscriber {
            try KafkaSubscriber(
                configuration: subscriberConfiguration(name),
                groupID: "projectors",
                logger: KafkaFanOutTests.logger
            )
        }

        /// Relay and projector settings for the runtime (`serve --bus kafka`).
        func fanOut(member: String) -> FanOut {
            .kafka(
                KafkaFanOut(
                    relay: publisherConfiguration(),
                    projector: subscriberConfiguration(member),
                    group: "projectors"
                )
            )
        }

        func subscriberConfiguration(_ name: String) -> KafkaConfiguration {
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
            return configuration
        }
    }

    /// The relay and one projector member, as `serve --bus kafka` wires them (the composition root).
    static func pipeline(_ cluster: Cluster, store: EventStore, member: String) async throws -> [any Service] {
        let fanOut = cluster.fanOut(member: member)
        return try await AlmanacRuntime(
            client: store.client,
            logger: logger,
            preparedStatements: store.preparedStatements
        ).services(
            for: .init(projector: .bus(fanOut), relay: fanOut)
        )
    }

    /// Runs `services` while `body` runs, then shuts them down gracefully.
    static func whileRunning(_ services: [any Service], _ body: () async throws -> Void) async throws {
        try await AlmanacRuntime.withRunning(services, logger: logger, body)
    }

    /// Runs a fresh pipeline until every calendar has caught up, then checks each against a full
    /// regeneration from the store.
    static func catchUpAndCompare(_ cluster: Cluster, store: EventStore, users: [Int64], member: String) async throws {
        try await whileRunning(try await pipeline(cluster, store: store, member: member)) {
            try await FanOutChecks.waitForProjection(store, users: users)
        }
        try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
    }

    /// The trace context travels in the envelope: the projector's batch spans link to the appends
    /// whose events they apply, and the catch-up transaction is a child of its batch span.
    @Test func theProjectorsBatchSpansLinkToTheAppendsOfTheirEvents() async throws {
        let cluster = try Cluster(partitions: 2)
        defer { cluster.mock.shutdown() }
        let tracer = InMemoryTracer()
        try await withTracer(tracer) {
            try await TestDatabase.withStore { store in
                let services = AlmanacServices(store: store)
                let users = try await withSpan("request") { _ in
                    try await FanOutChecks.writeEvents(services, users: 2, seed: 3)
                }
                let appends = tracer.finishedSpans.filter { $0.operationName == "event_store.append" }
                #expect(!appends.isEmpty)
                try await Self.whileRunning(try await Self.pipeline(cluster, store: store, member: "traced")) {
                    try await FanOutChecks.waitForProjection(store, users: users)
                }
                let spans = tracer.finishedSpans
                let batches = spans.filter { $0.operationName == "kafka.projector.batch" }
                #expect(batches.allSatisfy { $0.kind == .consumer })
                let linked = Set(batches.flatMap { $0.links.compactMap(\.context.inMemorySpanContext?.spanID) })
                #expect(linked == Set(appends.map(\.spanID)))
                let catchUps = spans.filter { $0.operationName == "projection.catch_up" }
                #expect(catchUps.contains { catchUp in batches.contains { $0.spanID == catchUp.parentSpanID } })
            }
        }
    }

    @Test func twoProjectorsInOneGroupSplitThePartitionsAndProduceTheEmbeddedFeeds() async throws {
        let cluster = try Cluster(partitions: 4)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await FanOutChecks.writeEvents(services, users: 8, seed: 1)
            let publisher = try cluster.publisher()
            let a = try cluster.subscriber("projector-a")
            let b = try cluster.subscriber("projector-b")
            let members: [any Service] = [
                publisher, OutboxRelay(store: store, publisher: publisher),
                a, KafkaProjector(subscriber: a, writer: ProjectionWriter(store: store)),
                b, KafkaProjector(subscriber: b, writer: ProjectionWriter(store: store)),
            ]
            try await Self.whileRunning(members) {
                try await FanOutChecks.waitForProjection(store, users: users)
                // More writes while both members run.
                for user in users.prefix(3) {
                    try await FanOutChecks.append(services, user: user, codes: [0, 1, 2, 7, 5])
                }
                try await FanOutChecks.waitForProjection(store, users: users)
                let assignedA = a.assignedPartitions
                let assignedB = b.assignedPartitions
                #expect(!assignedA.isEmpty && !assignedB.isEmpty, "a: \(assignedA), b: \(assignedB)")
                #expect(Set(assignedA).isDisjoint(with: assignedB))
                #expect(Set(assignedA + assignedB) == [0, 1, 2, 3])
            }
            try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
        }
    }

    /// SIGTERM while the projector is busy with a backlog: the group stops without an error, and
    /// the next run picks up where the committed offsets left off.
    @Test func gracefulShutdownWhileBusyIsCleanAndResumable() async throws {
        let cluster = try Cluster(partitions: 2)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await FanOutChecks.writeEvents(services, users: 40, seed: 3)
            try await Self.whileRunning(try await Self.pipeline(cluster, store: store, member: "projector-busy")) {
                // Shut down as soon as the first calendar appears, with most of the backlog left.
                try await poll("the first calendar appears", limit: .seconds(60), interval: .milliseconds(2)) {
                    try await store.client.withConnection { connection in
                        try await CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
                            .head(user: users[0], on: connection) != nil
                    }
                }
            }
            try await Self.catchUpAndCompare(cluster, store: store, users: users, member: "projector-after")
        }
    }

    @Test func killingTheRelayOrAProjectorMidStreamLosesAndDuplicatesNothing() async throws {
        let cluster = try Cluster(partitions: 3)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await FanOutChecks.writeEvents(services, users: 4, seed: 2)
            for round in 0..<3 {
                let pipeline = try await Self.pipeline(cluster, store: store, member: "projector-\(round)")
                let running = Task {
                    try await AlmanacRuntime.run(pipeline, logger: Self.logger, shutdown: .programmatic)
                }
                // Write while it runs, then kill everything abruptly (no graceful shutdown) once the
                // projector has applied part of it.
                let before = try await FanOutChecks.projectedVersions(store, users: users)
                for user in users {
                    try await FanOutChecks.append(services, user: user, codes: [round, 11 + round, 7, 3])
                }
                try await poll("the projector applies some of round \(round)", limit: .seconds(60)) {
                    try await FanOutChecks.projectedVersions(store, users: users) != before
                }
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
            let users = try await FanOutChecks.writeEvents(services, users: 2, seed: 3)
            try await Self.whileRunning(try await Self.pipeline(cluster, store: store, member: "projector")) {
                try await FanOutChecks.waitForProjection(store, users: users)
                let before = try await store.client.withConnection {
                    try await CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements).head(
                        user: users[0],
                        on: $0
                    )?.version ?? 0
                }
                try cluster.mock.setBrokerDown(KafkaMockCluster.allBrokers)
                try await FanOutChecks.append(services, user: users[0], codes: [0, 1, 2, 3])
                // Window: nothing may reach the projection while every broker is down; 2 s is many
                // relay polls and publish retries (retry.backoff.ms 20, reconnects within 200 ms).
                try await Task.sleep(for: .seconds(2))
                let during = try await store.client.withConnection {
                    try await CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements).head(
                        user: users[0],
                        on: $0
                    )?.version ?? 0
                }
                #expect(during == before, "nothing can pass while every broker is down")
                try cluster.mock.setBrokerUp(KafkaMockCluster.allBrokers)
                try await FanOutChecks.waitForProjection(store, users: users)
            }
            try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
        }
    }

    /// Finding 10: the store is the authority. A well-formed envelope at a stream's next version
    /// whose payload is not the store's event (forged, or corrupted on the way) must not reach the
    /// feed, and the real event at that version must.
    @Test func aForgedEnvelopeAtTheNextVersionDoesNotReachTheFeed() async throws {
        let cluster = try Cluster(partitions: 2)
        defer { cluster.mock.shutdown() }
        try await TestDatabase.withStore(poolSize: 12) { store in
            let services = AlmanacServices(store: store)
            let users = try await FanOutChecks.writeEvents(services, users: 2, seed: 5)
            let rogue = try cluster.publisher()
            let pipeline = try await Self.pipeline(cluster, store: store, member: "projector-trust")
            let projector = try #require(pipeline.lazy.compactMap { $0 as? KafkaProjector }.first)
            try await Self.whileRunning([rogue] + pipeline) {
                try await FanOutChecks.waitForProjection(store, users: users)
                let user = users[0]
                let next = try await store.version(of: user) + 1
                let forged = TodoEvent.todoCreated(
                    TodoCreated(
                        todoID: 9_999,
                        uid: "forged",
                        title: "FORGED",
                        description: "",
                        completed: false,
                        deadline: nil,
                        at: Timestamp(microseconds: 1_770_000_000_000_000)
                    )
                )
                let envelope = BusEnvelope(
                    eventID: UUID(),
                    streamID: user,
                    version: next,
                    type: forged.type,
                    data: EventCoding.encode(forged),
                    recordedAt: 1_770_000_000_000_000,
                    position: 0
                )
                // Same key as the relay's messages for this user: same partition, ahead of the real
                // event at that version, which is appended (and relayed) only afterwards.
                let received = projector.subscriber.bufferedTotal
                try await rogue.publish([envelope.message])
                // The projector's consumer receives the rogue message before the real event exists
                // (the projector, caught up and idle, handles it at once).
                try await poll("the projector receives the rogue message", limit: .seconds(30)) {
                    projector.subscriber.bufferedTotal > received
                }
                try await FanOutChecks.append(services, user: user, codes: [0, 1, 2])
                try await FanOutChecks.waitForProjection(store, users: users)
            }
            try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
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
        let message = BusEnvelope(recorded).message
        #expect(message.key == "4")
        let object = try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
        #expect(
            Set(object?.keys.map { $0 } ?? []) == [
                "event_id", "stream_id", "version", "type", "data", "recorded_at", "position",
            ]
        )
        let back = RecordedEvent(try BusEnvelope(decoding: message))
        #expect(back.streamID == 4 && back.version == 2 && back.eventID == recorded.eventID)
        #expect(try EventCoding.decode(type: back.type, data: back.data) == event)
        #expect(throws: BusEnvelope.Invalid.self) {
            try BusEnvelope(decoding: BusMessage(key: "1", eventID: "x", payload: Array("nope".utf8)))
        }
    }
}
