import API
import EventStore
import Foundation

/// Scenario 5 (issue #5), the Kafka fan-out through librdkafka's in-process mock cluster:
/// end-to-end latency from a write to the feed when the projection is fed by relay → Kafka →
/// consumer-group projector, against the store-tailing projector in the same run on the same
/// calendars; then relay and projector throughput in events per second.
struct KafkaScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    var server: BenchServer.Running { calendars.server }
    var store: EventStore { server.services.store }
    var bench: FanOutBench {
        FanOutBench(scenario: "kafka", plan: plan, calendars: calendars, sizes: plan.kafkaSizes, ks: plan.kafkaKs)
    }

    static let topic = "almanac.events"

    /// OutboxRelay → Kafka → KafkaProjector (`almanac serve --bus kafka`).
    static let bus = FanOutBench.Path(name: "bus", label: "relay → Kafka → projector")

    func run(into results: inout RunResults) async throws {
        let pools = try await bench.pools()
        try await bench.measureStore(pools, into: &results)
        // Reopening through the bus would cost one message per todo: reopen with the store projector.
        try await bench.reopen(pools)
        try await withMockKafka { kafka in
            try kafka.createTopic(Self.topic)
            let first = try await bench.switchToBus(
                kafka.fanOut(topic: Self.topic, group: "almanac-projector"),
                Self.bus
            )
            results.notes.append(
                "kafka: after the switch to the bus, the consumer group formed and the first write reached the feed "
                    + "in \(format(first)) ms (not measured: librdkafka's mock delays a group's first join by about 3 s)."
            )
            for pool in pools {
                try await bench.measure(pool, Self.bus, into: &results)
            }
            try await server.projection.stop()
        }
        try await relayThroughput(into: &results)
        try await bench.restoreStoreProjector()
        let settings = plan.description["kafka_settings"].flatMap { $0.isEmpty ? nil : ", settings \($0)" } ?? ""
        results.notes.append(
            "kafka: librdkafka\(results.machine["librdkafka"].map { " \($0)" } ?? "")'s mock cluster in-process, "
                + "\(plan.kafkaBrokers) brokers, \(plan.kafkaPartitions) partitions; consumer fetch.wait.max.ms = "
                + "\(plan.kafkaFetchWaitMilliseconds) (the mock holds an empty fetch that long even when a message "
                + "arrives, a real broker answers at once); the producer's linger.ms is librdkafka's default\(settings)."
        )
    }

    /// Runs `body` with a fresh mock cluster; on failure stops the projector (its Kafka clients)
    /// before the cluster goes away.
    func withMockKafka(_ body: (MockKafka) async throws -> Void) async throws {
        let kafka = try MockKafka(plan: plan)
        do {
            try await bench.stoppingProjectionOnFailure { try await body(kafka) }
        } catch {
            kafka.shutdown()
            throw error
        }
        kafka.shutdown()
    }
}
