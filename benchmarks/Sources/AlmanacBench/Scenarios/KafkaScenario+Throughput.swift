import Bus
import EventStore
import Foundation
import Projector
import Relay
import ServiceLifecycle

/// Throughput of the fan-out: the relay publishing a backlog of events (store → Kafka), and the
/// consumer-group projector applying them (Kafka → calendar tables).
extension KafkaScenario {
    /// Appends the backlog (not timed), then times fresh relays publishing all of it, each to a
    /// fresh mock cluster; the last cluster then feeds the projector throughput.
    func relayThroughput(into results: inout RunResults) async throws {
        let backlog = try await bench.appendBacklog(events: plan.relayEvents, users: plan.relayUsers)
        let runs = plan.warmup + plan.throughputRuns
        var rates: [Double] = []
        var seconds: [Double] = []
        for run in 0..<runs {
            try await withMockKafka { kafka in
                let (elapsed, batchSize) = try await relayRun(kafka, backlog)
                let rate = Double(backlog.count) / elapsed
                let label = run < plan.warmup ? "warm-up" : "\(run + 1 - plan.warmup)/\(plan.throughputRuns)"
                Progress.log(
                    "kafka: relay run \(label): \(grouped(backlog.count)) events in \(format(elapsed * 1000)) ms, "
                        + "\(format(rate)) events/s"
                )
                if run >= plan.warmup {
                    rates.append(rate)
                    seconds.append(elapsed)
                }
                if run == runs - 1 {
                    results.measurements.append(
                        Measurement(
                            scenario: "kafka",
                            series: "relay: store → Kafka",
                            unit: "events/s",
                            samples: rates,
                            details: [
                                "events": "\(backlog.count)", "users": "\(backlog.users.count)",
                                "batch_size": "\(batchSize)",
                                "seconds_median": format(Summary(seconds).median),
                            ]
                        )
                    )
                    try await projectorThroughput(kafka, backlog, into: &results)
                }
            }
        }
    }

    /// One fresh relay (its own checkpoint at the start of the backlog) publishing the backlog
    /// to a fresh topic; returns the seconds until its checkpoint reached the last event, and
    /// the relay's batch size.
    private func relayRun(_ kafka: MockKafka, _ backlog: FanOutBench.Backlog) async throws -> (
        seconds: Double, batchSize: Int
    ) {
        try kafka.createTopic(Self.topic)
        let publisher = try kafka.publisher(topic: Self.topic)
        let relay = OutboxRelay(store: store, publisher: publisher, checkpointName: "bench-relay")
        try await bench.saveCheckpoint(relay.tail.checkpointName, backlog.from)
        try await server.projection.start("relay publisher", [publisher])
        // Connections, metadata and the idempotent producer's id first (not timed): the brokers
        // acknowledge one message that no projector can apply (it skips it).
        try await publisher.publish([BusMessage(key: "warm-up", eventID: UUID().uuidString, payload: Array("{}".utf8))])
        let clock = ContinuousClock()
        let start = clock.now
        try await relay.drainCommitted(timeout: .seconds(1_800))
        let elapsed = (clock.now - start).milliseconds / 1000
        let reached = try await bench.checkpoint(relay.tail.checkpointName)
        try await server.projection.stop()
        guard reached == backlog.through else {
            throw BenchError("the relay stopped at \(reached), before the last event \(backlog.through)")
        }
        return (elapsed, relay.tail.batchSize)
    }

    /// One consumer-group projector applying the backlog from the topic (up to 500 messages per
    /// transaction, one offset commit per partition and batch), counted on the backlog users'
    /// calendars; then, for comparison, a consumer that receives and commits every message the
    /// topic still holds (its low and high watermarks, read before it starts).
    private func projectorThroughput(_ kafka: MockKafka, _ backlog: FanOutBench.Backlog, into results: inout RunResults)
        async throws
    {
        let subscriber = try kafka.subscriber(topic: Self.topic, group: "bench-projector")
        try await server.projection.start(
            "kafka projector",
            [subscriber, KafkaProjector(subscriber: subscriber, writer: ProjectionWriter(store: store))]
        )
        let projected = try await windowedRates(
            "projector",
            total: backlog.count,
            poll: .milliseconds(50),
            into: &results
        ) {
            try await bench.appliedEvents(backlog)
        }
        try await server.projection.stop()
        results.measurements.append(
            Measurement(
                scenario: "kafka",
                series: "projector: Kafka → calendar tables",
                unit: "events/s",
                samples: projected,
                details: ["window_seconds": "\(plan.throughputSeconds)", "users": "\(backlog.users.count)"]
            )
        )

        let consumer = try kafka.subscriber(topic: Self.topic, group: "bench-consumer")
        // librdkafka's mock keeps at most 5 MiB per partition (and 100,000 message sets) and deletes
        // the oldest beyond that: a large backlog is partly gone before anyone reads it. The
        // watermarks say how much is left; the consumer is measured on that, and both are reported.
        let marks = try await consumer.watermarks(partitions: (0..<plan.kafkaPartitions).map { Int32($0) })
        let published = Int(marks.values.reduce(0) { $0 + $1.high })
        let available = Int(marks.values.reduce(0) { $0 + $1.available })
        Progress.log(
            "kafka: the topic holds \(grouped(available)) of the \(grouped(published)) messages published "
                + "(low watermarks \(marks.keys.sorted().map { marks[$0]!.low }))"
        )
        if available < published {
            results.notes.append(
                "kafka: the mock cluster kept \(grouped(available)) of \(grouped(published)) messages (it deletes "
                    + "the oldest beyond 5 MiB per partition); the consumer was measured on those \(grouped(available)), "
                    + "the projector on the whole backlog (it reads the events from the store)."
            )
        }
        let counter = MessageCounter()
        try await server.projection.start(
            "kafka consumer",
            [consumer, CommittingConsumer(subscriber: consumer, counter: counter)]
        )
        let consumed = try await windowedRates(
            "consumer",
            total: available,
            poll: .milliseconds(5),
            into: &results
        ) {
            counter.count
        }
        let received = counter.count
        try await server.projection.stop()
        results.measurements.append(
            Measurement(
                scenario: "kafka",
                series: "consumer: receive + commit, no projection",
                unit: "events/s",
                samples: consumed,
                details: [
                    "window_seconds": "\(plan.throughputSeconds)",
                    "messages_published": "\(published)",
                    "messages_available": "\(available)",
                    "messages_consumed": "\(received)",
                ]
            )
        )
    }

    /// Rates over consecutive windows from the first counted event (the consumer group's join
    /// before it, about 3 s on the mock, is left out). A window lasts `plan.throughputSeconds`, or
    /// less once it has counted its share of the `total` events, so that every run gets one.
    private func windowedRates(
        _ what: String,
        total: Int,
        poll: Duration,
        into results: inout RunResults,
        count: () async throws -> Int
    ) async throws -> [Double] {
        let share = max(1, total / (plan.throughputRuns + 1))
        Progress.log(
            "kafka: \(what) throughput: \(plan.throughputRuns) windows of \(plan.throughputSeconds) s "
                + "or \(grouped(share)) events after the first event"
        )
        let clock = ContinuousClock()
        let joinDeadline = clock.now + .seconds(120)
        var counted = try await count()
        while counted == 0 {
            guard clock.now < joinDeadline else { throw BenchError("the \(what) received nothing in 120 s") }
            try await Task.sleep(for: .milliseconds(5))
            counted = try await count()
        }
        var mark = (time: clock.now, counted: counted)
        var rates: [Double] = []
        while rates.count < plan.throughputRuns, counted < total {
            let end = mark.time + .seconds(plan.throughputSeconds)
            while clock.now < end, counted < total, counted - mark.counted < share {
                try await Task.sleep(for: min(poll, max(.milliseconds(1), end - clock.now)))
                counted = try await count()
            }
            let now = clock.now
            rates.append(Double(counted - mark.counted) / ((now - mark.time).milliseconds / 1000))
            Progress.log(
                "kafka: \(what) window \(rates.count)/\(plan.throughputRuns): \(format(rates.last!)) events/s "
                    + "(\(grouped(counted)) of \(grouped(total)))"
            )
            mark = (now, counted)
        }
        if rates.count < plan.throughputRuns {
            results.notes.append(
                "kafka: the \(what) took the whole backlog in \(rates.count) of \(plan.throughputRuns) windows "
                    + "(raise --kafka-relay-events)."
            )
        }
        return rates
    }
}

/// A consumer-group member that commits every message as KafkaProjector does, without
/// projecting it.
private struct CommittingConsumer: Service {
    let subscriber: KafkaSubscriber
    let counter: MessageCounter

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                for try await received in subscriber.messages {
                    try await subscriber.commit(received)
                    counter.increment()
                }
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
    }
}
