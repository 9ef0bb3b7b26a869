import API
import Bus
import Domain
import EventStore
import Foundation
import NIOHTTP1
import PostgresNIO
import Projector
import Relay
import Runtime
import Workload

/// Scenario 5 (issue #5), the Kafka fan-out through librdkafka's in-process mock cluster:
/// end-to-end latency from a write to the feed when the projection is fed by relay → Kafka →
/// consumer-group projector, against the store-tailing projector in the same run on the same
/// calendars; then relay and projector throughput in events per second.
struct KafkaScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    var server: BenchServer.Running { calendars.server }
    var store: EventStore { server.services.store }

    static let topic = "almanac.events"

    /// How the projection is fed.
    enum Path: String, CaseIterable {
        /// The server's own projector tailing the event store (`almanac serve`).
        case store
        /// OutboxRelay → Kafka → KafkaProjector (`almanac serve --bus kafka`).
        case bus

        var label: String { self == .store ? "store-tailing projector" : "relay → Kafka → projector" }
    }

    /// The series name of one end-to-end point, e.g. "edit via bus: new feed served".
    static func series(_ change: String, _ path: Path, _ what: String) -> String {
        "\(change) via \(path.rawValue): \(what)"
    }

    func run(into results: inout RunResults) async throws {
        var pools: [[LoadedCalendar]] = []
        for n in plan.kafkaSizes {
            pools.append(try await pool(n))
        }
        for pool in pools {
            try await reopen(pool)
            try await measure(pool, .store, into: &results)
        }
        // Reopening through the bus would cost one message per todo: reopen with the store projector.
        for pool in pools {
            try await reopen(pool)
        }
        try await withMockKafka { kafka in
            let first = try await startBusPipeline(kafka)
            results.notes.append(
                "kafka: after the switch to the bus, the consumer group formed and the first write reached the feed "
                    + "in \(format(first)) ms (not measured: librdkafka's mock delays a group's first join by about 3 s)."
            )
            for pool in pools {
                try await measure(pool, .bus, into: &results)
            }
            try await server.projection.stop()
        }
        try await relayThroughput(into: &results)
        // The server's own projector again: it skips what the bus projected and catches up with the rest.
        try await server.projection.start("store", [BenchServer.storeProjector(store)])
        let settings = plan.description["kafka_settings"].flatMap { $0.isEmpty ? nil : ", settings \($0)" } ?? ""
        results.notes.append(
            "kafka: librdkafka\(results.machine["librdkafka"].map { " \($0)" } ?? "")'s mock cluster in-process, "
                + "\(plan.kafkaBrokers) brokers, \(plan.kafkaPartitions) partitions; consumer fetch.wait.max.ms = "
                + "\(plan.kafkaFetchWaitMilliseconds) (the mock holds an empty fetch that long even when a message "
                + "arrives, a real broker answers at once); the producer's linger.ms is librdkafka's default\(settings)."
        )
    }

    /// Calendars of `n` todos enough for every bulk completion of one path without reopening
    /// todos in between (each reopened todo is one event, so one message on the bus): the
    /// registry's calendar plus as many more as the repetitions of k ≤ n need.
    private func pool(_ n: Int) async throws -> [LoadedCalendar] {
        var open = [n]
        for k in plan.kafkaKs where k <= n {
            for _ in 0..<(plan.endToEndRepetitions + plan.warmup) {
                if let index = open.firstIndex(where: { $0 >= k }) {
                    open[index] -= k
                } else {
                    open.append(n - k)
                }
            }
        }
        var pool = [try await calendars.calendar(n)]
        for index in 1..<open.count {
            Progress.log("kafka: N = \(n): calendar \(index + 1) of \(open.count) for the bulk completions")
            pool.append(try await LoadedCalendar.load(CalendarCorpus(size: n), on: server))
        }
        return pool
    }

    /// Reopens every completed todo of the pool's calendars (not timed).
    private func reopen(_ pool: [LoadedCalendar]) async throws {
        for calendar in pool where calendar.open.count < calendar.n {
            try await calendar.reopenAll()
        }
    }

    /// Runs `body` with a fresh mock cluster; on failure stops the projector (its Kafka clients)
    /// before the cluster goes away.
    func withMockKafka(_ body: (MockKafka) async throws -> Void) async throws {
        let kafka = try MockKafka(plan: plan)
        do {
            try await body(kafka)
        } catch {
            do {
                try await server.projection.stop()
            } catch let stopError {
                Progress.log("kafka: the projector had failed too: \(stopError)")
            }
            kafka.shutdown()
            throw error
        }
        kafka.shutdown()
    }

    /// Replaces the server's projector by relay → Kafka → consumer-group projector, wired as
    /// `almanac serve --bus kafka` wires them, and waits for a first write to pass (not measured:
    /// the mock's consumer group takes about 3 s to form); returns how long that write took, in ms.
    private func startBusPipeline(_ kafka: MockKafka) async throws -> Double {
        try kafka.createTopic(Self.topic)
        let projector = BenchServer.storeProjector(store)
        try await server.projection.stop()
        // The relay starts where the store-tailing projector stopped: everything before is projected.
        try await saveCheckpoint(OutboxRelay.defaultCheckpointName, try await checkpoint(projector.checkpointName))
        let fanOut = kafka.fanOut(topic: Self.topic, group: "almanac-projector")
        try await server.projection.start(
            "kafka",
            try await server.runtime.services(for: .init(projector: .bus(fanOut), relay: fanOut))
        )
        Progress.log("kafka: projector replaced by relay → mock Kafka → consumer group; first write (not measured)")
        let calendar = try await calendars.calendar(plan.kafkaSizes[0])
        let id = calendar.open.first ?? 1
        let first = try await endToEnd.timeWrite(calendar, expecting: nil) {
            try await server.http.send(
                .PUT,
                "/api/v1/todos/\(id)",
                auth: calendar.apiKey,
                json: AlmanacHTTP.TitlePatch(title: "Warm-up \(UUID().uuidString.prefix(8))")
            )
        }
        Progress.log("kafka: the first write reached the feed through the bus in \(format(first.visible)) ms")
        return first.visible
    }

    private var endToEnd: EndToEndScenario { EndToEndScenario(plan: plan, calendars: calendars) }

    /// Single-todo edits and bulk completions in a pool of calendars of one size, each timed from
    /// sending the write to the feed serving the new bytes, as in the e2e scenario.
    private func measure(_ pool: [LoadedCalendar], _ path: Path, into results: inout RunResults) async throws {
        let calendar = pool[0]
        let n = calendar.n
        let reps = plan.endToEndRepetitions
        Progress.log("kafka: N = \(n): single-todo edit via the \(path.label) x \(reps)")
        let edit = try await endToEnd.timeEdits(calendar, reps: reps, tag: "\(path.rawValue) ")
        record(&results, Self.series("edit", path, "write acknowledged"), n: n, k: 1, samples: edit.ack)
        record(&results, Self.series("edit", path, "new feed served"), n: n, k: 1, samples: edit.visible)

        for k in plan.kafkaKs where k <= n {
            Progress.log("kafka: N = \(n): bulk completion k = \(k) via the \(path.label) x \(reps)")
            var ack: [Double] = []
            var visible: [Double] = []
            for rep in 0..<(reps + plan.warmup) {
                let calendar = pool.first { $0.open.count >= k } ?? pool[0]
                let timing = try await endToEnd.timeCompletion(of: k, in: calendar)
                if rep >= plan.warmup {
                    ack.append(timing.ack)
                    visible.append(timing.visible)
                }
            }
            record(&results, Self.series("bulk completion", path, "write acknowledged"), n: n, k: k, samples: ack)
            record(&results, Self.series("bulk completion", path, "new feed served"), n: n, k: k, samples: visible)
        }
    }

    /// Records a point; a bus point also carries its ratio to the same point via the store.
    private func record(_ results: inout RunResults, _ series: String, n: Int, k: Int, samples: [Double]) {
        var m = Measurement(scenario: "kafka", series: series, n: n, k: k, samples: samples)
        var ratio = ""
        let storeSeries = series.replacingOccurrences(
            of: " via \(Path.bus.rawValue):",
            with: " via \(Path.store.rawValue):"
        )
        if storeSeries != series, let store = results.find("kafka", storeSeries, n: n, k: k), store.summary.median > 0 {
            let value = m.summary.median / store.summary.median
            m.details["bus_over_store_median"] = String(format: "%.3f", value)
            ratio = ", ×\(format(value)) the store-tailing projector's"
        }
        Progress.log(
            "kafka: N = \(n) \(series) k = \(k): median \(format(m.summary.median)) ms, p95 \(format(m.summary.p95)) ms\(ratio)"
        )
        results.measurements.append(m)
    }

    func checkpoint(_ name: String) async throws -> GlobalCursor {
        try await store.client.withConnection { try await Checkpoints.load(name, on: $0, logger: store.logger) }
    }

    func saveCheckpoint(_ name: String, _ cursor: GlobalCursor) async throws {
        try await store.client.withConnection { try await Checkpoints.save(name, cursor, on: $0, logger: store.logger) }
    }
}
