import API
import Domain
import EventStore
import Foundation
import PostgresNIO
import Projector
import Workload

/// Scenario 8: `almanac rebuild` throughput. One user's stream gets `rebuildEvents` events
/// (appended through the store in batches, not timed): creates of a corpus of up to 100,000 todos,
/// then completions and reopenings over it; then `CalendarRebuilder.rebuild` (what the CLI calls
/// for each user) folds the stream and replaces the projection, timed, in events per second.
/// The store-tailing projector is stopped meanwhile (it would project the same events beside the
/// rebuild) and started again afterwards.
struct RebuildScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    var server: BenchServer.Running { calendars.server }

    func run(into results: inout RunResults) async throws {
        let store = server.services.store
        let total = plan.rebuildEvents
        try await server.projection.stop()
        let name = "rebuild-\(UUID().uuidString.prefix(8).lowercased())"
        let user = try await server.services.users.create(name: name).user.id
        var version = try await store.version(of: user)
        let corpus = CalendarCorpus(size: max(1, min(total / 2, 100_000)))
        let clock = ContinuousClock()
        let start = clock.now
        var appended = 0
        var next = 0
        let at = CalendarCorpus.yearStart
        while appended < total {
            var batch: [TodoEvent] = []
            let count = min(5_000, total - appended)
            batch.reserveCapacity(count)
            for _ in 0..<count {
                let index = appended + batch.count
                if index < corpus.size {
                    batch.append(.todoCreated(corpus.todos[index]))
                } else {
                    // Complete, then reopen, each todo in turn.
                    let id = next % corpus.size + 1
                    let change = TodoChange(todoID: id, at: at)
                    batch.append((next / corpus.size) % 2 == 0 ? .todoCompleted(change) : .todoReopened(change))
                    next += 1
                }
            }
            try await store.append(
                stream: user,
                expectedVersion: version,
                events: batch.map { NewEvent(type: $0.type, data: EventCoding.encode($0)) }
            )
            version += Int64(batch.count)
            appended += batch.count
            if appended % 100_000 == 0 || appended == total {
                Progress.log("rebuild: \(grouped(appended)) of \(grouped(total)) events appended")
            }
        }
        Progress.log(
            "rebuild: log of \(grouped(Int(version))) events appended in \(format((clock.now - start).milliseconds / 1000)) s"
        )
        try await store.client.query("VACUUM (ANALYZE) events", logger: store.logger)

        let rebuilder = CalendarRebuilder(store: store)
        var rates: [Double] = []
        var seconds: [Double] = []
        var todos = 0
        for run in 1...plan.rebuildRepetitions {
            let begin = clock.now
            let state = try await rebuilder.rebuild(user: user)
            let elapsed = (clock.now - begin).milliseconds / 1000
            todos = state.todos.count
            seconds.append(elapsed)
            rates.append(Double(state.version) / elapsed)
            Progress.log(
                "rebuild run \(run)/\(plan.rebuildRepetitions): \(grouped(Int(state.version))) events, \(grouped(todos)) todos in \(format(elapsed)) s: \(format(Double(state.version) / elapsed)) events/s"
            )
        }
        results.measurements.append(
            Measurement(
                scenario: "rebuild",
                series: "rebuild of one user's stream",
                n: Int(version),
                unit: "events/s",
                samples: rates,
                details: [
                    "todos": "\(todos)",
                    "seconds_median": format(Summary(seconds).median),
                ]
            )
        )
        try await server.projection.start("store", [BenchServer.storeProjector(store)])
    }
}
