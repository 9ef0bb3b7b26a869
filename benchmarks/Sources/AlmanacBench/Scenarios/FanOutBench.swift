import API
import EventStore
import Foundation
import NIOHTTP1
import PostgresNIO
import Projector
import Relay
import Runtime

/// What the fan-out scenarios (`kafka`, `sqs`) share: the end-to-end comparison of a bus path
/// with the store-tailing projector on the same calendars, the switch of the server's projector
/// to relay → bus → projector (`almanac serve --bus …`, through the composition root) and back,
/// and the relay's checkpoints.
struct FanOutBench {
    /// The scenario in results and progress lines ("kafka", "sqs").
    let scenario: String
    let plan: Plan
    let calendars: CalendarRegistry
    /// Calendar sizes N and bulk completion sizes k of the end-to-end part.
    let sizes: [Int]
    let ks: [Int]

    var server: BenchServer.Running { calendars.server }
    var store: EventStore { server.services.store }

    /// How the projection is fed.
    struct Path: Hashable, Sendable {
        /// In series names, e.g. "edit via bus: new feed served".
        var name: String
        /// In progress lines.
        var label: String

        /// The server's own projector tailing the event store (`almanac serve`).
        static let store = Path(name: "store", label: "store-tailing projector")
    }

    /// The series name of one end-to-end point, e.g. "edit via bus: new feed served".
    static func series(_ change: String, _ path: Path, _ what: String) -> String {
        "\(change) via \(path.name): \(what)"
    }

    /// The detail of a bus point holding its ratio to the store point (new feed served, medians).
    static let ratioDetail = "bus_over_store_median"

    func log(_ message: String) {
        Progress.log("\(scenario): \(message)")
    }

    // MARK: Calendars

    /// For each size, calendars of N todos enough for every bulk completion of one path without
    /// reopening todos in between (each reopened todo is one event, so one message on the bus):
    /// the registry's calendar plus as many more as the repetitions of k ≤ N need.
    func pools() async throws -> [[LoadedCalendar]] {
        var pools: [[LoadedCalendar]] = []
        for n in sizes {
            var open = [n]
            for k in ks where k <= n {
                for _ in 0..<(plan.endToEndRepetitions + plan.warmup) {
                    if let index = open.firstIndex(where: { $0 >= k }) {
                        open[index] -= k
                    } else {
                        open.append(n - k)
                    }
                }
            }
            pools.append(try await calendars.pool(n, count: open.count))
        }
        return pools
    }

    /// Reopens every completed todo of the pools' calendars (not timed; the store-tailing
    /// projector must be running, reopening through the bus would cost one message per todo).
    func reopen(_ pools: [[LoadedCalendar]]) async throws {
        for calendar in pools.joined() where calendar.open.count < calendar.n {
            try await calendar.reopenAll()
        }
    }

    /// The store-tailing projector's points: every pool reopened, then measured.
    func measureStore(_ pools: [[LoadedCalendar]], into results: inout RunResults) async throws {
        for pool in pools {
            try await reopen([pool])
            try await measure(pool, .store, into: &results)
        }
    }

    // MARK: End to end

    private var endToEnd: EndToEndScenario { EndToEndScenario(plan: plan, calendars: calendars) }

    /// Single-todo edits and bulk completions in a pool of calendars of one size, each timed from
    /// sending the write to the feed serving the new bytes, as in the e2e scenario.
    func measure(_ pool: [LoadedCalendar], _ path: Path, into results: inout RunResults) async throws {
        let calendar = pool[0]
        let n = calendar.n
        let reps = plan.endToEndRepetitions
        log("N = \(n): single-todo edit via the \(path.label) x \(reps)")
        let edit = try await endToEnd.timeEdits(calendar, reps: reps, tag: "\(path.name) ")
        record(&results, Self.series("edit", path, "write acknowledged"), n: n, k: 1, samples: edit.ack)
        record(&results, Self.series("edit", path, "new feed served"), n: n, k: 1, samples: edit.visible)

        for k in ks where k <= n {
            log("N = \(n): bulk completion k = \(k) via the \(path.label) x \(reps)")
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
        var m = Measurement(scenario: scenario, series: series, n: n, k: k, samples: samples)
        var ratio = ""
        if let via = series.range(of: " via "), let colon = series[via.upperBound...].firstIndex(of: ":") {
            let storeSeries = series[..<via.upperBound] + Path.store.name + series[colon...]
            if storeSeries != series, let store = results.find(scenario, String(storeSeries), n: n, k: k),
                store.summary.median > 0
            {
                let value = m.summary.median / store.summary.median
                m.details[Self.ratioDetail] = String(format: "%.3f", value)
                ratio = ", ×\(format(value)) the store-tailing projector's"
            }
        }
        log(
            "N = \(n) \(series) k = \(k): median \(format(m.summary.median)) ms, p95 \(format(m.summary.p95)) ms\(ratio)"
        )
        results.measurements.append(m)
    }

    // MARK: Switching the projector

    /// Replaces the server's store-tailing projector by relay → bus → projector, built by the
    /// composition root as `almanac serve --bus …` builds them, the relay starting at the store
    /// projector's checkpoint; then waits for a first write to reach the feed (not measured:
    /// connections, a consumer group's join) and returns how long it took, in ms.
    func switchToBus(_ fanOut: FanOut, _ path: Path) async throws -> Double {
        let projector = BenchServer.storeProjector(store)
        try await server.projection.stop()
        // The relay starts where the store-tailing projector stopped: everything before is projected.
        try await saveCheckpoint(OutboxRelay.defaultCheckpointName, try await checkpoint(projector.checkpointName))
        try await server.projection.start(
            path.name,
            try await server.runtime.services(for: .init(projector: .bus(fanOut), relay: fanOut))
        )
        log("projector replaced by the \(path.label); first write (not measured)")
        let calendar = try await calendars.calendar(sizes[0])
        let id = calendar.open.first ?? 1
        let first = try await endToEnd.timeWrite(calendar, expecting: nil) {
            try await server.http.send(
                .PUT,
                "/api/v1/todos/\(id)",
                auth: calendar.apiKey,
                json: AlmanacHTTP.TitlePatch(title: "Warm-up \(UUID().uuidString.prefix(8))")
            )
        }
        log("the first write reached the feed via the \(path.label) in \(format(first.visible)) ms")
        return first.visible
    }

    /// Stops whatever feeds the projection and starts the server's own projector again: it skips
    /// what the bus projected and catches up with the rest.
    func restoreStoreProjector() async throws {
        try await server.projection.stop()
        try await server.projection.start("store", [BenchServer.storeProjector(store)])
    }

    /// Runs `body`; when it fails, stops the projection (its bus clients) before the error goes on,
    /// so that whatever the bus runs on can go away.
    func stoppingProjectionOnFailure<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch {
            do {
                try await server.projection.stop()
            } catch let stopError {
                log("the projector had failed too: \(stopError)")
            }
            throw error
        }
    }

    // MARK: Checkpoints

    func checkpoint(_ name: String) async throws -> GlobalCursor {
        try await store.client.withConnection { try await Checkpoints.load(name, on: $0, logger: store.logger) }
    }

    func saveCheckpoint(_ name: String, _ cursor: GlobalCursor) async throws {
        try await store.client.withConnection {
            try await Checkpoints.save(name, cursor, on: $0, prepared: store.preparedStatements, logger: store.logger)
        }
    }
}
