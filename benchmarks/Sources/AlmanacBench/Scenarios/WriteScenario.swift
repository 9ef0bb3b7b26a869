import API
import Foundation
import NIOCore
import NIOHTTP1
import Workload

/// Scenario 4: single-todo creates per second with 1 and 16 concurrent clients (each request
/// one transaction with its event, todo row and NOTIFY), each shape beside the raw PostgreSQL
/// ceiling of the same statements (`CreateCeiling`, pgbench), and the bulk completion of 10,000 todos.
struct WriteScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    var server: BenchServer.Running { calendars.server }

    func run(into results: inout RunResults) async throws {
        var ceiling: CreateCeiling?
        if plan.writeCeiling {
            do {
                ceiling = try await CreateCeiling.prepare(
                    server: server,
                    users: plan.writeClients.max() ?? 1,
                    directory: server.directory.deletingLastPathComponent().appendingPathComponent("ceiling")
                )
            } catch {
                Progress.log("writes: no PostgreSQL ceiling: \(error)")
                results.notes.append("writes: the PostgreSQL ceiling was not measured: \(error)")
            }
        }
        for clients in plan.writeClients {
            let layouts: [(String, Int)] =
                clients == 1 ? [("1 user", 1)] : [("one user", 1), ("\(clients) users", clients)]
            for (label, users) in layouts {
                try await creates(clients: clients, users: users, label: label, into: &results)
                if let ceiling {
                    try await measureCeiling(ceiling, clients: clients, users: users, label: label, into: &results)
                }
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
        let running = try await createRuns(clients: clients, keys: keys, series: series)
        // The same shape with the store-tailing projector stopped: how much of a create's cost is
        // the projection competing for the same cores, connections and WAL flushes.
        try await server.projection.stop()
        let alone = try await createRuns(clients: clients, keys: keys, series: series + ", projector stopped")
        try await server.projection.start("store", [BenchServer.storeProjector(server.services.store)])
        let external = try await wrkRuns(clients: clients, keys: keys, series: series)
        results.measurements.append(
            Measurement(
                scenario: "writes",
                series: series,
                unit: "creates/s",
                samples: running.rates,
                details: [
                    "latency_p50_ms": format(running.latency.median),
                    "latency_p95_ms": format(running.latency.p95),
                    "requests": "\(running.requests)",
                    "seconds_per_run": "\(plan.throughputSeconds)",
                    "projector_stopped_creates_per_s_median": format(Summary(alone.rates).median),
                    "projector_stopped_latency_p50_ms": format(alone.latency.median),
                    "cpu_us_per_create_process": format(running.processCPU),
                    "cpu_us_per_create_postgres": format(running.postgresCPU),
                    "wrk_creates_per_s_median": external.map { format(Summary($0.rates).median) } ?? "",
                    "wrk_cpu_us_per_create_process": external.map { format($0.processCPU) } ?? "",
                ]
            )
        )
    }

    /// The same creates sent by wrk, a separate process (as pgbench is for the ceiling), so that
    /// this process holds only the server: `plan.throughputRuns` runs after a 1 s warm-up, each
    /// connection a thread of its own with its user's key; nil when wrk is not installed.
    private func wrkRuns(clients: Int, keys: [String], series: String) async throws
        -> (rates: [Double], processCPU: Double)?
    {
        guard let wrk = Wrk.find() else { return nil }
        var random = SplitMix64(seed: 99)
        let todo = CalendarCorpus.newTodo(&random)
        let body = String(
            decoding: try JSONEncoder().encode(
                AlmanacHTTP.NewTodo(title: todo.title, description: todo.description, deadline_at: todo.deadline)
            ),
            as: UTF8.self
        )
        let script = """
            local keys = { \(keys.map(Self.lua).joined(separator: ", ")) }
            local started = 0
            function setup(thread)
              started = started + 1
              thread:set("key", keys[(started - 1) % #keys + 1])
            end
            function init(args)
              wrk.method = "POST"
              wrk.body = \(Self.lua(body))
              wrk.headers["Content-Type"] = "application/json"
              wrk.headers["Authorization"] = "Bearer " .. key
            end

            """
        let file = server.directory.deletingLastPathComponent()
            .appendingPathComponent("creates-\(clients)-\(keys.count).lua")
        try Data(script.utf8).write(to: file)
        var rates: [Double] = []
        var cpu: [Double] = []
        for run in 0...plan.throughputRuns {
            let process = CPUSpan(ProcessCPU.ownSeconds)
            let report = try await wrk.run(
                url: server.baseURL + "/api/v1/todos",
                threads: clients,
                connections: clients,
                seconds: run == 0 ? 1 : plan.throughputSeconds,
                headers: [],
                script: file
            )
            guard report.errors == 0 else { throw BenchError("wrk's creates: \(report.errors) error answers") }
            guard run > 0 else { continue }
            let perCreate = process.microseconds(per: report.requests)
            rates.append(report.requestsPerSecond)
            cpu.append(perCreate)
            Progress.log(
                "writes: \(series), sent by wrk, run \(run)/\(plan.throughputRuns): \(format(report.requestsPerSecond)) creates/s, CPU per create: this process \(format(perCreate)) µs"
            )
        }
        return (rates, Summary(cpu).median)
    }

    /// `text` as a Lua string literal: printable ASCII as is, the rest as `\u{…}` escapes.
    static func lua(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar.isASCII, scalar.value >= 0x20, scalar != "\\", scalar != "\"" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return out + "\""
    }

    /// The private cluster's CPU clock (`ProcessCPU.postgresSeconds` of its data directory).
    private var postgresSeconds: () -> Double {
        { [data = server.directory.appendingPathComponent("data")] in ProcessCPU.postgresSeconds(dataDirectory: data) }
    }

    /// One warm-up run, then `plan.throughputRuns` timed runs of `createLoop`; besides the rates,
    /// the CPU microseconds per create of this process (the API, the projector and the load
    /// generator's HTTP client) and of PostgreSQL, medians of the runs.
    private func createRuns(clients: Int, keys: [String], series: String) async throws
        -> (rates: [Double], latency: Summary, requests: Int, processCPU: Double, postgresCPU: Double)
    {
        var rates: [Double] = []
        var latencies: [Double] = []
        var processCPU: [Double] = []
        var databaseCPU: [Double] = []
        for run in 0...plan.throughputRuns {
            let (process, postgres) = (CPUSpan(ProcessCPU.ownSeconds), CPUSpan(postgresSeconds))
            let (count, seconds, latency) = try await createLoop(clients: clients, keys: keys, seed: UInt64(run))
            // Run 0 warms connections, the pool and the todo tables up.
            guard run > 0 else { continue }
            let (own, database) = (process.microseconds(per: count), postgres.microseconds(per: count))
            rates.append(Double(count) / seconds)
            latencies += latency
            processCPU.append(own)
            databaseCPU.append(database)
            Progress.log(
                "writes: \(series) run \(run)/\(plan.throughputRuns): \(format(Double(count) / seconds)) creates/s, CPU per create: this process \(format(own)) µs, PostgreSQL \(format(database)) µs"
            )
        }
        return (rates, Summary(latencies), latencies.count, Summary(processCPU).median, Summary(databaseCPU).median)
    }

    /// pgbench runs of the create's statements for the shape just measured; the creates' row gets
    /// the ceiling's median and its percentage of it.
    private func measureCeiling(
        _ ceiling: CreateCeiling,
        clients: Int,
        users: Int,
        label: String,
        into results: inout RunResults
    ) async throws {
        let shape = CreateCeiling(
            pgbench: ceiling.pgbench,
            psql: ceiling.psql,
            url: ceiling.url,
            directory: ceiling.directory.appendingPathComponent("\(users)"),
            users: users,
            queryMode: ceiling.queryMode
        )
        try FileManager.default.createDirectory(at: shape.directory, withIntermediateDirectories: true)
        try Data(try shape.script().utf8).write(to: shape.scriptFile)
        let series = "creates, \(clients) client\(clients == 1 ? "" : "s"), \(label)"
        var rates: [Double] = []
        var failed = 0
        var pgbenchCPU: [Double] = []
        var postgresCPU: [Double] = []
        for run in 0...plan.throughputRuns {
            let (pgbenchSpan, postgresSpan) = (CPUSpan(ProcessCPU.childrenSeconds), CPUSpan(postgresSeconds))
            // Run 0 (1 s) warms the connections and the tables up, as the creates' run 0.
            let outcome = try await shape.run(clients: clients, seconds: run == 0 ? 1 : plan.throughputSeconds)
            guard run > 0 else { continue }
            let transactions =
                outcome.processed ?? Int(outcome.transactionsPerSecond * Double(plan.throughputSeconds))
            let pgbench = pgbenchSpan.microseconds(per: transactions)
            let postgres = postgresSpan.microseconds(per: transactions)
            rates.append(outcome.transactionsPerSecond)
            failed += outcome.failed
            pgbenchCPU.append(pgbench)
            postgresCPU.append(postgres)
            Progress.log(
                "writes: PostgreSQL ceiling, \(series) run \(run)/\(plan.throughputRuns): \(format(outcome.transactionsPerSecond)) tx/s, CPU per transaction: pgbench \(format(pgbench)) µs, PostgreSQL \(format(postgres)) µs"
            )
        }
        let measured = Measurement(
            scenario: "writes",
            series: "ceiling: " + series,
            unit: "tx/s",
            samples: rates,
            details: [
                "tool": "pgbench -M extended",
                "failed_transactions": "\(failed)",
                "cpu_us_per_tx_pgbench": format(Summary(pgbenchCPU).median),
                "cpu_us_per_tx_postgres": format(Summary(postgresCPU).median),
                "seconds_per_run": "\(plan.throughputSeconds)",
            ]
        )
        results.measurements.append(measured)
        if let index = results.measurements.firstIndex(where: {
            $0.scenario == "writes" && $0.series == series && $0.unit == "creates/s"
        }) {
            let creates = results.measurements[index].summary.median
            results.measurements[index].details["ceiling_tx_per_s_median"] = format(measured.summary.median)
            results.measurements[index].details["ceiling_cpu_us_per_tx_pgbench"] = format(Summary(pgbenchCPU).median)
            results.measurements[index].details["ceiling_cpu_us_per_tx_postgres"] = format(Summary(postgresCPU).median)
            results.measurements[index].details["percent_of_ceiling"] = format(
                creates / measured.summary.median * 100
            )
            if let wrkCreates = results.measurements[index].details["wrk_creates_per_s_median"].flatMap(unformatted) {
                results.measurements[index].details["wrk_percent_of_ceiling"] = format(
                    wrkCreates / measured.summary.median * 100
                )
            }
        }
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
