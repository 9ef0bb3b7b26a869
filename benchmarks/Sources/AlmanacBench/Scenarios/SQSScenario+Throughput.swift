import API
import Bus
import EventStore
import Foundation
import Relay
import Runtime
import ServiceLifecycle

/// Throughput of the SNS/SQS fan-out on backlogs of events appended while nothing projected them.
///
/// moto's SQS scans every message a queue holds on each send, receive and delete, so a queue
/// filled with a whole backlog before a projector reads it makes moto's cost grow with the square
/// of the backlog, and says nothing about Almanac. The relay and the projector therefore run
/// together, as `almanac serve --bus sns` runs them, the projector draining the queue while the
/// relay fills it; the deepest the queue got is reported. A consumer that only receives and
/// deletes, under the same conditions, shows how much of the projector's time is moto's; the
/// relay alone, publishing to a topic that no queue subscribes to, what moto's SNS costs without
/// the delivery.
extension SQSScenario {
    func throughput(_ aws: MotoAWS, into results: inout RunResults) async throws {
        try await server.projection.stop()
        for kind in plan.sqsQueues {
            var projected: [Pass] = []
            var consumed: [Pass] = []
            var backlog: FanOutBench.Backlog?
            for run in 0..<(plan.warmup + plan.throughputRuns) {
                let label = run < plan.warmup ? "warm-up" : "\(run + 1 - plan.warmup)/\(plan.throughputRuns)"
                // A fresh backlog every run: what the previous one applied is projected already.
                let fresh = try await bench.appendBacklog(events: plan.sqsRelayEvents, users: plan.relayUsers)
                backlog = fresh
                let projector = try await aws.withFanOut(kind) { fanOut, created in
                    try await pass(
                        aws,
                        created.queueURL,
                        fresh,
                        try await server.runtime.services(
                            for: .init(projector: .bus(.sns(fanOut)), relay: .sns(fanOut))
                        )
                    ) {
                        try await bench.appliedEvents(fresh)
                    }
                }
                bench.log("\(kind.rawValue) run \(label), relay and projector: \(projector.summary(fresh.count))")
                // The same backlog again, to a consumer that projects nothing.
                let counter = MessageCounter()
                let consumer = try await aws.withFanOut(kind) { fanOut, created in
                    try await pass(
                        aws,
                        created.queueURL,
                        fresh,
                        try await server.runtime.services(for: .init(relay: .sns(fanOut)))
                            + [
                                DeletingConsumer(
                                    sqs: aws.sqs,
                                    queueURL: created.queueURL,
                                    fanOut: fanOut,
                                    counter: counter
                                )
                            ]
                    ) {
                        counter.count
                    }
                }
                bench.log("\(kind.rawValue) run \(label), relay and consumer: \(consumer.summary(fresh.count))")
                if run >= plan.warmup {
                    projected.append(projector)
                    consumed.append(consumer)
                }
            }
            let events = plan.sqsRelayEvents
            func details(_ passes: [Pass], _ seconds: (Pass) -> Double) -> [String: String] {
                [
                    "queue": kind.rawValue, "events": "\(events)", "users": "\(plan.relayUsers)",
                    "seconds_median": format(Summary(passes.map(seconds)).median),
                    "max_queue_depth": "\(passes.map(\.depth).max() ?? 0)",
                ]
            }
            for (series, passes, seconds) in [
                (Self.relaySeries(kind), projected, { (pass: Pass) in pass.relay }),
                (Self.projectorSeries(kind), projected, { (pass: Pass) in pass.taken }),
                (Self.consumerSeries(kind), consumed, { (pass: Pass) in pass.taken }),
            ] {
                results.measurements.append(
                    Measurement(
                        scenario: "sqs",
                        series: series,
                        unit: "events/s",
                        samples: passes.map { Double(events) / seconds($0) },
                        details: details(passes, seconds)
                    )
                )
            }
            guard let backlog, !projected.isEmpty else { continue }
            let alone = try await relayAlone(aws, kind, backlog, into: &results)
            // What bounds each stage, from the medians of this run.
            let relay = Summary(projected.map { Double(events) / $0.relay }).median
            let projector = Summary(projected.map(\.taken)).median
            let consumer = Summary(consumed.map(\.taken)).median
            let batches = Double(events) / Double(SQSClient.maximumBatchSize)
            results.notes.append(
                "sqs, \(kind.rawValue): the relay published \(format(relay)) events/s to the subscribed topic and "
                    + "\(format(alone)) to one without subscription: moto's delivery into the queue (at the depths "
                    + "reached) bounds it. The projector took ×\(format(projector / consumer)) the time of the consumer "
                    + "that only receives and deletes, about \(format((projector - consumer) * 1000 / batches)) ms more "
                    + "per 10 events: it applies one received batch (at most 10 messages, SQS's maximum) per "
                    + "transaction, one batch at a time (the Kafka projector takes up to 500 per transaction)."
            )
        }
    }

    static func relaySeries(_ kind: Plan.QueueKind) -> String {
        "relay: store → SNS → SQS \(kind.rawValue), projector running"
    }

    static func projectorSeries(_ kind: Plan.QueueKind) -> String {
        "projector: SQS \(kind.rawValue) → calendar tables, relay running"
    }

    static func consumerSeries(_ kind: Plan.QueueKind) -> String {
        "consumer: SQS \(kind.rawValue) → receive + delete, no projection, relay running"
    }

    static func relayAloneSeries(_ kind: Plan.QueueKind) -> String {
        "relay: store → SNS \(kind.rawValue) topic, no subscription"
    }

    /// One pass of a backlog through SNS and SQS: seconds until the relay's checkpoint reached
    /// the last event and until every event was taken from the queue (applied by the projector,
    /// or deleted by the comparison consumer), and the deepest the queue was.
    struct Pass {
        var relay: Double
        var taken: Double
        var depth: Int

        func summary(_ events: Int) -> String {
            "relay \(format(Double(events) / relay)) events/s (\(format(relay * 1000)) ms), all taken from the queue "
                + "in \(format(taken * 1000)) ms (\(format(Double(events) / taken)) events/s), queue depth ≤ \(depth)"
        }
    }

    /// Starts `services` (a relay from the composition root and what consumes the queue at
    /// `queueURL`), the relay's checkpoint at the start of `backlog`, and times them until the
    /// relay's checkpoint reached the last event and `taken()` counts the whole backlog; samples
    /// the queue's depth every 250 ms meanwhile.
    private func pass(
        _ aws: MotoAWS,
        _ queueURL: String,
        _ backlog: FanOutBench.Backlog,
        _ services: [any Service],
        taken: () async throws -> Int
    ) async throws -> Pass {
        let bench = self.bench
        try await bench.saveCheckpoint(OutboxRelay.defaultCheckpointName, backlog.from)
        return try await bench.stoppingProjectionOnFailure {
            let clock = ContinuousClock()
            let start = clock.now
            try await server.projection.start("sqs throughput", services)
            let pass = try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask {
                    var deepest = 0
                    while !Task.isCancelled {
                        if let depth = try? await aws.depth(queueURL) { deepest = max(deepest, depth) }
                        try? await Task.sleep(for: .milliseconds(250))
                    }
                    return deepest
                }
                var relay: Duration?
                var allTaken: Duration?
                let deadline = start + .seconds(1_800)
                while relay == nil || allTaken == nil {
                    guard clock.now < deadline else {
                        throw BenchError("the backlog did not pass through SNS and SQS within 1,800 s")
                    }
                    if relay == nil, try await bench.checkpoint(OutboxRelay.defaultCheckpointName) >= backlog.through {
                        relay = clock.now - start
                    }
                    if allTaken == nil, try await taken() >= backlog.count {
                        allTaken = clock.now - start
                    }
                    try await Task.sleep(for: .milliseconds(10))
                }
                group.cancelAll()
                let depth = try await group.next() ?? 0
                return Pass(relay: relay!.milliseconds / 1000, taken: allTaken!.milliseconds / 1000, depth: depth)
            }
            try await server.projection.stop()
            return pass
        }
    }

    /// Fresh relays (their own checkpoint at the start of `backlog`) publishing it to a fresh topic
    /// that no queue subscribes to, timed until the checkpoint reached the last event: moto's SNS
    /// without the delivery to SQS. Returns the median events per second.
    private func relayAlone(
        _ aws: MotoAWS,
        _ kind: Plan.QueueKind,
        _ backlog: FanOutBench.Backlog,
        into results: inout RunResults
    ) async throws -> Double {
        var rates: [Double] = []
        var seconds: [Double] = []
        var batchSize = 0
        for run in 0..<(plan.warmup + plan.throughputRuns) {
            let elapsed = try await aws.withTopic(kind) { topicARN in
                let publisher = SNSPublisher(client: aws.sns, topicARN: topicARN, logger: BenchServer.logger)
                let relay = OutboxRelay(store: store, publisher: publisher, checkpointName: "bench-relay")
                batchSize = relay.tail.batchSize
                try await bench.saveCheckpoint(relay.tail.checkpointName, backlog.from)
                let clock = ContinuousClock()
                let start = clock.now
                try await relay.drainCommitted(timeout: .seconds(1_800))
                let elapsed = (clock.now - start).milliseconds / 1000
                let reached = try await bench.checkpoint(relay.tail.checkpointName)
                guard reached == backlog.through else {
                    throw BenchError("the relay stopped at \(reached), before the last event \(backlog.through)")
                }
                return elapsed
            }
            let label = run < plan.warmup ? "warm-up" : "\(run + 1 - plan.warmup)/\(plan.throughputRuns)"
            bench.log(
                "relay alone to a \(kind.rawValue) topic, run \(label): \(grouped(backlog.count)) events in "
                    + "\(format(elapsed * 1000)) ms, \(format(Double(backlog.count) / elapsed)) events/s"
            )
            if run >= plan.warmup {
                rates.append(Double(backlog.count) / elapsed)
                seconds.append(elapsed)
            }
        }
        results.measurements.append(
            Measurement(
                scenario: "sqs",
                series: Self.relayAloneSeries(kind),
                unit: "events/s",
                samples: rates,
                details: [
                    "queue": kind.rawValue, "events": "\(backlog.count)", "users": "\(backlog.users.count)",
                    "batch_size": "\(batchSize)", "seconds_median": format(Summary(seconds).median),
                ]
            )
        )
        return Summary(rates).median
    }
}

/// Receives up to 10 messages per request as SQSProjector does (same long poll and visibility
/// timeout) and deletes them in one DeleteMessageBatch, without projecting anything.
private struct DeletingConsumer: Service {
    let sqs: SQSClient
    let queueURL: String
    let fanOut: SNSFanOut
    let counter: MessageCounter

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let messages = try await sqs.receiveMessages(
                        queueURL: queueURL,
                        maxMessages: SQSClient.maximumBatchSize,
                        waitTimeSeconds: fanOut.waitTimeSeconds,
                        visibilityTimeout: fanOut.visibilityTimeout
                    )
                    guard !messages.isEmpty else { continue }
                    try await sqs.deleteMessages(queueURL: queueURL, receiptHandles: messages.map(\.receiptHandle))
                    counter.add(messages.count)
                } catch {
                    if Task.isCancelled { return }
                    throw error
                }
            }
        }
    }
}
