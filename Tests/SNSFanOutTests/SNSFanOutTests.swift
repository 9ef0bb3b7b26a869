import API
import AlmanacTestSupport
import Bus
import Domain
import EventStore
import Foundation
import InMemoryTracing
import Logging
import Relay
import Runtime
import ServiceLifecycle
import Testing
import Tracing

/// relay -> SNS topic -> SQS queue (moto_server, a real SNS/SQS endpoint on loopback) -> projector.
@Suite("Fan-out over SNS and SQS", .serialized)
struct SNSFanOutTests {
    static let logger: Logger = {
        var logger = Logger(label: "sns-fan-out")
        logger.logLevel = .critical
        return logger
    }()

    struct MotoMissing: Error, CustomStringConvertible {
        var description: String {
            "ALMANAC_TEST_AWS_ENDPOINT is not set: run the tests with scripts/test, which starts moto_server"
        }
    }

    /// Both services at the moto_server that `scripts/test` starts (it checks no signature).
    static func configuration() throws -> AWSConfiguration {
        guard let url = ProcessInfo.processInfo.environment["ALMANAC_TEST_AWS_ENDPOINT"],
            let endpoint = AWSEndpoint(url: url)
        else { throw MotoMissing() }
        return AWSConfiguration(
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
            region: "us-east-1",
            endpointOverrides: [.sns: endpoint, .sqs: endpoint]
        )
    }

    /// A fresh topic, queue, dead-letter queue and raw subscription (as `almanac aws-setup`
    /// makes them), with short visibility and polls so redeliveries happen within seconds.
    static func withFanOut(
        fifo: Bool,
        maxReceiveCount: Int = 3,
        _ body: (SNSFanOut, AWSFanOutSetup.Resources, SQSClient) async throws -> Void
    ) async throws {
        let aws = try configuration()
        try await AWSHTTPClient.withClient(logger: logger) { http in
            let sqs = SQSClient(configuration: aws, transport: http, logger: logger)
            let created = try await AWSFanOutSetup.create(
                sns: SNSClient(configuration: aws, transport: http, logger: logger),
                sqs: sqs,
                namePrefix: "almanac-test-\(UUID().uuidString.prefix(8).lowercased())",
                fifo: fifo,
                maxReceiveCount: maxReceiveCount
            )
            let fanOut = SNSFanOut(
                aws: aws,
                topicARN: created.topicARN,
                queueURL: created.queueURL,
                visibilityTimeout: 2,
                waitTimeSeconds: 1
            )
            try await body(fanOut, created, sqs)
        }
    }

    /// The relay and one SQS projector, as `serve --bus sns` wires them (the composition root).
    static func pipeline(_ fanOut: SNSFanOut, store: EventStore, projectors: Int = 1) async throws -> [any Service] {
        let runtime = AlmanacRuntime(client: store.client, logger: logger, preparedStatements: store.preparedStatements)
        var services = try await runtime.services(for: .init(projector: .bus(.sns(fanOut)), relay: .sns(fanOut)))
        for _ in 1..<projectors { services += try runtime.projector(.bus(.sns(fanOut))) }
        return services
    }

    static func depth(_ sqs: SQSClient, _ queueURL: String) async throws -> Int {
        let attributes = try await sqs.getQueueAttributes(
            queueURL: queueURL,
            names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )
        return (Int(attributes["ApproximateNumberOfMessages"] ?? "") ?? 0)
            + (Int(attributes["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0)
    }

    @Test(arguments: [true, false])
    func writesReachTheFeedsThroughSNSAndSQS(fifo: Bool) async throws {
        try await Self.withFanOut(fifo: fifo) { fanOut, _, _ in
            try await TestDatabase.withStore(poolSize: 12) { store in
                let services = AlmanacServices(store: store)
                let users = try await FanOutChecks.writeEvents(services, users: 6, seed: fifo ? 1 : 2)
                try await AlmanacRuntime.withRunning(try await Self.pipeline(fanOut, store: store), logger: Self.logger)
                {
                    try await FanOutChecks.waitForProjection(store, users: users)
                    for user in users.prefix(3) {
                        try await FanOutChecks.append(services, user: user, codes: [0, 1, 2, 7, 5, 3])
                    }
                    try await FanOutChecks.waitForProjection(store, users: users)
                }
                try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
            }
        }
    }

    /// The trace context travels in the envelope through SNS and SQS: the projector's batch
    /// spans link to the appends whose events they apply.
    @Test func theProjectorsBatchSpansLinkToTheAppendsOfTheirEvents() async throws {
        let tracer = InMemoryTracer()
        try await withTracer(tracer) {
            try await Self.withFanOut(fifo: false) { fanOut, _, _ in
                try await TestDatabase.withStore(poolSize: 12) { store in
                    let services = AlmanacServices(store: store)
                    let users = try await withSpan("request") { _ in
                        try await FanOutChecks.writeEvents(services, users: 2, seed: 5)
                    }
                    let appends = tracer.finishedSpans.filter { $0.operationName == "event_store.append" }
                    #expect(!appends.isEmpty)
                    let pipeline = try await Self.pipeline(fanOut, store: store)
                    try await AlmanacRuntime.withRunning(pipeline, logger: Self.logger) {
                        try await FanOutChecks.waitForProjection(store, users: users)
                    }
                    let batches = tracer.finishedSpans.filter { $0.operationName == "sqs.projector.batch" }
                    #expect(batches.allSatisfy { $0.kind == .consumer })
                    let linked = Set(batches.flatMap { $0.links.compactMap(\.context.inMemorySpanContext?.spanID) })
                    #expect(linked == Set(appends.map(\.spanID)))
                }
            }
        }
    }

    /// A standard queue delivers at least once and in any order: every envelope sent again,
    /// shuffled, straight into the queue changes no byte of any feed; nor does a forged one at
    /// the next version (the store, not the message, is what gets projected).
    @Test func redeliveredAndShuffledEnvelopesLeaveTheFeedsIdentical() async throws {
        try await Self.withFanOut(fifo: false) { fanOut, created, sqs in
            try await TestDatabase.withStore(poolSize: 12) { store in
                let services = AlmanacServices(store: store)
                let users = try await FanOutChecks.writeEvents(services, users: 4, seed: 3)
                try await AlmanacRuntime.withRunning(try await Self.pipeline(fanOut, store: store), logger: Self.logger)
                {
                    try await FanOutChecks.waitForProjection(store, users: users)
                    var again: [SQSSendEntry] = []
                    for user in users {
                        for event in try await store.readStream(user) {
                            let message = BusEnvelope(event).message
                            again.append(
                                SQSSendEntry(
                                    body: String(decoding: message.payload, as: UTF8.self),
                                    attributes: [
                                        SNSPublisher.eventIDAttribute: AWSMessageAttribute(
                                            dataType: "String",
                                            stringValue: message.eventID
                                        ),
                                        SNSPublisher.streamIDAttribute: AWSMessageAttribute(
                                            dataType: "String",
                                            stringValue: message.key
                                        ),
                                    ]
                                )
                            )
                        }
                    }
                    let forged = RecordedEvent(
                        position: 0,
                        txid: 0,
                        streamID: users[0],
                        version: try await store.version(of: users[0]) + 1,
                        eventID: UUID(),
                        type: "TodoCreated",
                        data: EventCoding.encode(
                            TodoCommands.create(
                                try NewTodo(title: "FORGED"),
                                id: 99_999,
                                uid: "forged",
                                at: Timestamp(microseconds: 1)
                            )[0]
                        ),
                        recordedAt: 1
                    )
                    again.append(
                        SQSSendEntry(body: String(decoding: BusEnvelope(forged).message.payload, as: UTF8.self))
                    )
                    var random = SplitMix(state: 11)
                    again.shuffle(using: &random)
                    let before = try await FanOutChecks.projectedVersions(store, users: users)
                    try await sqs.sendMessages(queueURL: created.queueURL, again)
                    try await poll("the queue is drained", limit: .seconds(60), interval: .milliseconds(100)) {
                        try await Self.depth(sqs, created.queueURL) == 0
                    }
                    #expect(try await FanOutChecks.projectedVersions(store, users: users) == before)
                }
                try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
            }
        }
    }

    /// A message that can never be applied is received `maxReceiveCount` times, then the queue's
    /// redrive policy moves it to the dead-letter queue; other users' events pass meanwhile.
    @Test func aPoisonMessageEndsInTheDeadLetterQueueWhileOthersProceed() async throws {
        try await Self.withFanOut(fifo: false, maxReceiveCount: 2) { fanOut, created, sqs in
            try await TestDatabase.withStore(poolSize: 12) { store in
                let services = AlmanacServices(store: store)
                _ = try await sqs.sendMessage(queueURL: created.queueURL, SQSSendEntry(body: "not an Almanac envelope"))
                try await AlmanacRuntime.withRunning(try await Self.pipeline(fanOut, store: store), logger: Self.logger)
                {
                    let users = try await FanOutChecks.writeEvents(services, users: 2, seed: 4)
                    try await FanOutChecks.waitForProjection(store, users: users)
                    try await poll("the poison message reaches the dead-letter queue", limit: .seconds(60)) {
                        try await Self.depth(sqs, created.deadLetterQueueURL) == 1
                    }
                    try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
                }
                let poison = try await sqs.receiveMessages(queueURL: created.deadLetterQueueURL, waitTimeSeconds: 1)
                #expect(poison.map(\.body) == ["not an Almanac envelope"])
            }
        }
    }

    @Test func killingTheRelayOrTheProjectorMidStreamLosesAndDuplicatesNothing() async throws {
        try await Self.withFanOut(fifo: true) { fanOut, _, _ in
            try await TestDatabase.withStore(poolSize: 12) { store in
                let services = AlmanacServices(store: store)
                let users = try await FanOutChecks.writeEvents(services, users: 3, seed: 5)
                for round in 0..<3 {
                    let pipeline = try await Self.pipeline(fanOut, store: store)
                    let running = Task {
                        try await AlmanacRuntime.run(pipeline, logger: Self.logger, shutdown: .programmatic)
                    }
                    // Write while it runs, then kill everything abruptly (no graceful shutdown) once
                    // the projector has applied part of it.
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
                try await AlmanacRuntime.withRunning(try await Self.pipeline(fanOut, store: store), logger: Self.logger)
                {
                    try await FanOutChecks.waitForProjection(store, users: users)
                }
                try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
            }
        }
    }

    @Test func twoProjectorsOnOneQueueProduceTheEmbeddedFeeds() async throws {
        try await Self.withFanOut(fifo: false) { fanOut, _, _ in
            try await TestDatabase.withStore(poolSize: 16) { store in
                let services = AlmanacServices(store: store)
                let users = try await FanOutChecks.writeEvents(services, users: 8, seed: 6)
                let pipeline = try await Self.pipeline(fanOut, store: store, projectors: 2)
                try await AlmanacRuntime.withRunning(pipeline, logger: Self.logger) {
                    try await FanOutChecks.waitForProjection(store, users: users)
                    for user in users { try await FanOutChecks.append(services, user: user, codes: [9, 8, 7, 1]) }
                    try await FanOutChecks.waitForProjection(store, users: users)
                }
                try await FanOutChecks.expectFeedsEqualFullRegeneration(store, users: users)
            }
        }
    }
}
