import API
import Foundation
import NIOCore
import NIOHTTP1
import Workload

/// Scenario 4: single-todo creates per second with 1 and 16 concurrent clients (each request
/// one transaction with its event, todo row and NOTIFY), and the bulk completion of 10,000 todos.
struct WriteScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    var server: BenchServer.Running { calendars.server }

    func run(into results: inout RunResults) async throws {
        for clients in plan.writeClients {
            let layouts: [(String, Int)] =
                clients == 1 ? [("1 user", 1)] : [("one user", 1), ("\(clients) users", clients)]
            for (label, users) in layouts {
                try await creates(clients: clients, users: users, label: label, into: &results)
            }
        }
        try await bulkCompletion(into: &results)
    }

    private func creates(clients: Int, users: Int, label: String, into results: inout RunResults) async throws {
        var keys: [String] = []
        for _ in 0..<users {
            let name = "writer-\(UUID().uuidString.prefix(8).lowercased())"
            keys.append(try await server.services.users.create(name: name).apiKey)
        }
        let series = "creates, \(clients) client\(clients == 1 ? "" : "s"), \(label)"
        var rates: [Double] = []
        var latencies: [Double] = []
        for run in 0...plan.throughputRuns {
            let (count, seconds, latency) = try await createLoop(clients: clients, keys: keys, seed: UInt64(run))
            // Run 0 warms connections, the pool and the todo tables up.
            guard run > 0 else { continue }
            rates.append(Double(count) / seconds)
            latencies += latency
            Progress.log(
                "writes: \(series) run \(run)/\(plan.throughputRuns): \(format(Double(count) / seconds)) creates/s"
            )
        }
        let latency = Summary(latencies)
        results.measurements.append(
            Measurement(
                scenario: "writes",
                series: series,
                unit: "creates/s",
                samples: rates,
                details: [
                    "latency_p50_ms": format(latency.median),
                    "latency_p95_ms": format(latency.p95),
                    "requests": "\(latencies.count)",
                    "seconds_per_run": "\(plan.throughputSeconds)",
                ]
            )
        )
    }

    /// `clients` tasks send creates back to back for the configured time; client i writes as user i % users.
    private func createLoop(clients: Int, keys: [String], seed: UInt64) async throws
        -> (count: Int, seconds: Double, latencies: [Double])
    {
        let http = server.http
        let seconds = plan.throughputSeconds
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .seconds(seconds)
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for client in 0..<clients {
                let key = keys[client % keys.count]
                group.addTask {
                    var random = SplitMix64(seed: seed &* 1_000_003 &+ UInt64(client))
                    var latencies: [Double] = []
                    while clock.now < end {
                        let todo = CalendarCorpus.newTodo(&random)
                        let sent = clock.now
                        let reply = try await http.send(
                            .POST,
                            "/api/v1/todos",
                            auth: key,
                            json: AlmanacHTTP.NewTodo(
                                title: todo.title,
                                description: todo.description,
                                deadline_at: todo.deadline
                            )
                        )
                        try http.expectSuccess(reply, "POST /api/v1/todos")
                        latencies.append((clock.now - sent).milliseconds)
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        return (latencies.count, (clock.now - start).milliseconds / 1000, latencies)
    }

    private func bulkCompletion(into results: inout RunResults) async throws {
        let k = plan.bulkSize
        let calendar = try await calendars.calendar(plan.sizes.filter { $0 >= k }.max() ?? k)
        Progress.log("writes: bulk completion of \(k) todos in N = \(calendar.n) x \(plan.endToEndRepetitions)")
        var ack: [Double] = []
        for rep in 0..<(plan.endToEndRepetitions + plan.warmup) {
            let ids = try await calendar.takeOpen(k)
            let clock = ContinuousClock()
            let start = clock.now
            let reply = try await server.http.send(
                .POST,
                "/api/v1/todos/complete",
                auth: calendar.apiKey,
                json: AlmanacHTTP.Completion(ids: ids)
            )
            let ms = (clock.now - start).milliseconds
            try server.http.expectSuccess(reply, "POST /api/v1/todos/complete")
            if rep >= plan.warmup { ack.append(ms) }
            // Let the projection finish before the next write, so each one is measured alone.
            try await calendar.waitForProjection()
        }
        try await calendar.refreshETag()
        let summary = Summary(ack)
        Progress.log(
            "writes: bulk completion of \(k): median \(format(summary.median)) ms, p95 \(format(summary.p95)) ms"
        )
        results.measurements.append(
            Measurement(
                scenario: "writes",
                series: "bulk completion: write acknowledged",
                n: calendar.n,
                k: k,
                samples: ack,
                details: ["todos_per_second_median": format(Double(k) / summary.median * 1000)]
            )
        )
    }
}
