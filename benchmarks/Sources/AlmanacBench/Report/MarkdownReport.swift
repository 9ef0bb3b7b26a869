/// The printed table (also saved as results.md).
struct MarkdownReport {
    let results: RunResults

    func render() -> String {
        var out = "# Almanac benchmarks\n\n"
        out += "Run \(results.date) on \(results.machine["cores"] ?? "?") cores"
        out += " (\(results.machine["cpu"] ?? "?")), \(results.machine["swift"] ?? "Swift")"
        out += results.machine["almanac_commit"].map { ", Almanac \($0)" } ?? ""
        out +=
            ", load average at start \(results.machine["loadavg_start"] ?? "?"), at end \(results.machine["loadavg_end"] ?? "?")"
        out += ". Every cell: median / p95 of repeated runs (ms unless stated).\n\n"
        out += targets()
        out += component()
        out += endToEnd()
        out += feed()
        out += writes()
        out += kafka()
        out += sqs()
        out += memory()
        out += rebuild()
        if !results.notes.isEmpty {
            out += "## Notes\n\n" + results.notes.map { "- \($0)\n" }.joined() + "\n"
        }
        return out
    }

    private func cell(_ m: Measurement?) -> String {
        guard let m else { return "" }
        return "\(format(m.summary.median)) / \(format(m.summary.p95))"
    }

    private func table(_ header: [String], _ rows: [[String]]) -> String {
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + header.map { _ in "---|" }.joined() + "\n"
        for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out + "\n"
    }

    private var sizes: [Int] { Array(Set(results.measurements.compactMap(\.n))).sorted() }

    private func ks(_ scenario: String, _ series: String) -> [Int] {
        Array(Set(results.measurements.filter { $0.scenario == scenario && $0.series == series }.compactMap(\.k)))
            .sorted()
    }

    private func targets() -> String {
        guard !results.targets.isEmpty else { return "" }
        let rows = results.targets.map { check -> [String] in
            let verdict = check.reached.map { $0 ? "reached" : "**missed**" } ?? "not measured"
            return [check.target, check.measured, verdict]
        }
        return "## Targets\n\n" + table(["target", "measured", ""], rows)
    }

    private func component() -> String {
        let sizes = self.sizes.filter { results.find("component", "full regeneration", n: $0) != nil }
        guard !sizes.isEmpty else { return "" }
        let ks = self.ks("component", "incremental bulk completion")
        var out = "## 1. Component level (in-process, no I/O)\n\n"
        out +=
            "Full = fold all events + render all components + assemble the feed; render = the same from a folded state; "
        out +=
            "incremental = `InMemoryCalendar.apply` of one event (load touched entries, apply, re-render, store).\n\n"
        let header =
            ["N", "full regeneration", "full render", "feed assembly", "incremental edit"]
            + ks.map { "incremental k = \(grouped($0))" }
        let rows = sizes.map { n in
            [grouped(n)]
                + ["full regeneration", "full render", "feed assembly"].map {
                    cell(results.find("component", $0, n: n))
                }
                + [cell(results.find("component", "incremental edit", n: n, k: 1))]
                + ks.map { cell(results.find("component", "incremental bulk completion", n: n, k: $0)) }
        }
        out += table(header, rows)
        out += ratios(
            "component",
            sizes: sizes,
            ks: ks,
            what: "full regeneration / incremental apply (medians of the same run)"
        )
        return out
    }

    private func ratios(_ scenario: String, sizes: [Int], ks: [Int], what: String) -> String {
        let changes = ["single-todo edit"] + ks.map { "bulk completion k=\($0)" }
        let rows = sizes.map { n in
            [grouped(n)]
                + changes.map { change in
                    results.ratios.first { $0.scenario == scenario && $0.n == n && $0.change == change }
                        .map { "×\(format($0.ratio))" } ?? ""
                }
        }
        return "Ratio \(what):\n\n" + table(["N", "edit"] + ks.map { "k = \(grouped($0))" }, rows)
    }

    private func endToEnd() -> String {
        let sizes = self.sizes.filter { results.find("e2e", "edit: new feed served", n: $0, k: 1) != nil }
        guard !sizes.isEmpty else { return "" }
        let ks = self.ks("e2e", "bulk completion: new feed served")
        var out = "## 2. End to end (HTTP + PostgreSQL)\n\n"
        out += "From sending the write to the feed serving the new bytes (the client polls with If-None-Match), "
        out += "for a client without `Accept-Encoding` (identity bytes) and for one that accepts gzip (k ≤ 1,000); "
        out += "versus the `full` job (submitted to SUCCESS; the server's own fold + render time in brackets).\n\n"
        var rows: [[String]] = []
        for n in sizes {
            rows.append(
                [
                    grouped(n), "single-todo edit",
                    cell(results.find("e2e", "edit: write acknowledged", n: n, k: 1)),
                    cell(results.find("e2e", "edit: new feed served", n: n, k: 1)),
                    cell(results.find("e2e", "edit: new feed served (gzip)", n: n, k: 1)),
                ]
            )
            for k in ks {
                guard let served = results.find("e2e", "bulk completion: new feed served", n: n, k: k) else { continue }
                rows.append(
                    [
                        grouped(n), "bulk completion k = \(grouped(k))",
                        cell(results.find("e2e", "bulk completion: write acknowledged", n: n, k: k)), cell(served),
                        cell(results.find("e2e", "bulk completion: new feed served (gzip)", n: n, k: k)),
                    ]
                )
            }
            if let download = results.find("e2e", "feed download, unchanged (200)", n: n) {
                let gzip = results.find("e2e", "feed download, unchanged (200, gzip)", n: n)
                let octets = gzip.map { m in
                    [m.details["identity_octets"], m.details["gzip_octets"]].map {
                        $0.flatMap(Int.init).map(grouped) ?? "?"
                    }
                }
                rows.append(
                    [
                        grouped(n),
                        "no change: GET of the cached feed (200)"
                            + (octets.map { ", \($0[0]) / \($0[1]) octets" } ?? ""),
                        "", cell(download), cell(gzip),
                    ]
                )
            }
            if let job = results.find("e2e", "full job: submitted to SUCCESS", n: n) {
                let server = results.find("e2e", "full job: server regeneration (duration_ms)", n: n)
                let matches = job.details["matches_incremental"].map { ", matches incremental: \($0)" } ?? ""
                rows.append(
                    [grouped(n), "**full job**", "", cell(job) + (server.map { " (\(cell($0)))" } ?? "") + matches, ""]
                )
            }
        }
        out += table(["N", "change", "write acknowledged", "new feed served", "new feed served, gzip client"], rows)
        out += ratios(
            "e2e",
            sizes: sizes,
            ks: ks,
            what: "full job / incremental (new feed served), medians of the same run"
        )
        out += stages()
        return out
    }

    /// The bulk completion measured stage by stage (gzip client).
    private func stages() -> String {
        let points = results.measurements.filter {
            $0.scenario == "e2e" && $0.series == "stages (gzip): new feed served"
        }
        guard !points.isEmpty else { return "" }
        let rows = points.map { served -> [String] in
            let n = served.n ?? 0
            let k = served.k ?? 0
            let ack = results.find("e2e", "stages (gzip): write acknowledged", n: n, k: k)
            let projected = results.find("e2e", "stages (gzip): projection committed", n: n, k: k)
            return [
                grouped(n), grouped(k), cell(ack), cell(projected), cell(served),
                ack?.details["gzip_octets"].flatMap(Int.init).map(grouped) ?? "",
            ]
        }
        return "Bulk completion stage by stage, gzip client (ms since the write was sent; the feed is fetched "
            + "only once the projection has committed):\n\n"
            + table(
                ["N", "k", "write acknowledged", "projection committed", "new feed served", "gzip octets"],
                rows
            )
    }

    private func feed() -> String {
        let rows = results.measurements.filter { $0.scenario == "feed" }.map { m in
            [
                m.series, grouped(m.n ?? 0), format(m.summary.median), format(m.summary.p95),
                m.details["latency_p50_ms_median"] ?? "", m.details["latency_p99_ms_median"] ?? "",
                m.details["connections"] ?? "", m.details["feed_octets"].flatMap { Int($0) }.map(grouped) ?? "",
                m.details["percent_of_nginx"].map { "\($0) %" } ?? "",
                m.details["cpu_us_per_answer_median"] ?? "", m.details["cpu_times_nginx"].map { "×\($0)" } ?? "",
            ]
        }
        guard !rows.isEmpty else { return "" }
        return "## 3. Feed serving (wrk, keep-alive connections)\n\n"
            + "nginx: the same bytes as a static file with nginx's own ETag, measured the same way in the same run, in turns with Almanac run by run; "
            + "% of nginx: Almanac's median over nginx's; CPU µs per answer: user and system time of the server's processes "
            + "over a run (the harness process, which hosts the API; nginx's master and workers), divided by the run's answers, "
            + "median of the runs.\n\n"
            + table(
                [
                    "answer", "N", "answers/s median", "answers/s p95", "latency p50 (ms)", "latency p99 (ms)",
                    "connections", "feed octets", "% of nginx", "CPU µs per answer", "CPU per answer / nginx's",
                ],
                rows
            )
    }

    /// The end-to-end table of a fan-out scenario: the store-tailing projector's points and, on the
    /// same calendars, each bus path's, with its ratio to the store (new feed served, medians).
    private func fanOutLatency(_ scenario: String, _ paths: [FanOutBench.Path]) -> String {
        typealias Path = FanOutBench.Path
        func find(_ change: String, _ path: Path, _ what: String, n: Int, k: Int) -> Measurement? {
            results.find(scenario, FanOutBench.series(change, path, what), n: n, k: k)
        }
        let paths = paths.filter { path in
            results.measurements.contains {
                $0.scenario == scenario && $0.series == FanOutBench.series("edit", path, "new feed served")
            }
        }
        guard !paths.isEmpty else { return "" }
        let bulk = Set(paths.flatMap { ks(scenario, FanOutBench.series("bulk completion", $0, "new feed served")) })
        var rows: [[String]] = []
        for n in sizes {
            let changes =
                [("edit", "single-todo edit", 1)]
                + bulk.sorted().map { ("bulk completion", "bulk completion k = \(grouped($0))", $0) }
            for (change, label, k) in changes {
                guard paths.contains(where: { find(change, $0, "new feed served", n: n, k: k) != nil }) else {
                    continue
                }
                var row: [String] = [grouped(n), label]
                for path in [Path.store] + paths {
                    let ack = find(change, path, "write acknowledged", n: n, k: k)
                    let served = find(change, path, "new feed served", n: n, k: k)
                    row += [cell(ack), cell(served)]
                    guard path != .store else { continue }
                    let ratio = served?.details[FanOutBench.ratioDetail].flatMap { Double($0) }
                    row.append(ratio.map { "×" + format($0) } ?? "")
                }
                rows.append(row)
            }
        }
        let header =
            ["N", "change", "store: write acknowledged", "store: new feed served"]
            + paths.flatMap {
                ["\($0.name): write acknowledged", "\($0.name): new feed served", "\($0.name) / store"]
            }
        return table(header, rows)
    }

    /// A throughput table: one row per events/s point, its setup read from the details.
    private func fanOutThroughput(_ throughput: [Measurement]) -> String {
        table(
            ["stage", "events/s median", "events/s p95", "runs", "setup"],
            throughput.map { m in
                var setup: [String] = []
                if let events = m.details["events"].flatMap(Int.init) { setup.append("\(grouped(events)) events") }
                if let users = m.details["users"] { setup.append("\(users) users") }
                if let batch = m.details["batch_size"] { setup.append("batches of \(batch)") }
                if let seconds = m.details["seconds_median"] { setup.append("\(seconds) s per run") }
                if let window = m.details["window_seconds"] { setup.append("windows ≤ \(window) s") }
                if let depth = m.details["max_queue_depth"] { setup.append("queue depth ≤ \(depth)") }
                return [
                    m.series, format(m.summary.median), format(m.summary.p95), "\(m.samples.count)",
                    setup.joined(separator: ", "),
                ]
            }
        )
    }

    private func kafka() -> String {
        let latency = fanOutLatency("kafka", [KafkaScenario.bus])
        let throughput = results.measurements.filter { $0.scenario == "kafka" && $0.unit == "events/s" }
        guard !latency.isEmpty || !throughput.isEmpty else { return "" }
        var out = "## 5. Kafka fan-out (librdkafka's mock cluster, in-process)\n\n"
        if !latency.isEmpty {
            out += "From sending the write to the feed serving the new bytes, with the projection fed by the server's "
            out += "store-tailing projector, then, on the same calendars, by relay → Kafka → consumer-group projector "
            out += "(`serve --bus kafka`). Bus / store: ratio of the medians of new feed served.\n\n"
            out += latency
        }
        if !throughput.isEmpty {
            out += "Throughput: the relay publishing a backlog (a fresh relay and cluster per run, timed until its "
            out +=
                "checkpoint reached the last event); the consumer-group projector applying it (up to 500 messages per "
            out += "transaction, then one offset commit per partition), and a consumer that only commits each message, "
            out += "over windows after the "
            out += "group joined.\n\n"
            out += fanOutThroughput(throughput)
        }
        return out
    }

    private func sqs() -> String {
        let latency = fanOutLatency("sqs", Plan.QueueKind.allCases.map(SQSScenario.path))
        let throughput = results.measurements.filter { $0.scenario == "sqs" && $0.unit == "events/s" }
        guard !latency.isEmpty || !throughput.isEmpty else { return "" }
        var out = "## 6. SNS/SQS fan-out (moto_server, an AWS emulator on loopback)\n\n"
        out += "moto_server emulates SNS and SQS in one Python process on the same cores: these numbers compare "
        out += "Almanac's paths with each other in one run, they say nothing about AWS.\n\n"
        if !latency.isEmpty {
            out += "From sending the write to the feed serving the new bytes, with the projection fed by the server's "
            out += "store-tailing projector, then, on the same calendars, by relay → SNS topic → SQS queue → SQS "
            out += "projector (`serve --bus sns`; `sns`: standard topic and queue, `sns-fifo`: FIFO ones). "
            out += "Bus / store: ratio of the medians of new feed served.\n\n"
            out += latency
        }
        if !throughput.isEmpty {
            out += "Throughput on backlogs appended while nothing projected them (a fresh backlog, topic and queue per "
            out += "run): the relay and the projector started together, as `serve --bus sns` runs them, the relay "
            out += "timed until its checkpoint reached the last event, the projector until it had applied every "
            out += "event (so it cannot beat the relay). Then the same backlog through a fresh topic and queue to a "
            out += "consumer that only receives and deletes (no projection): what moto alone allows. Queue depth: "
            out += "the most messages the queue held (sampled every 250 ms); moto's cost per request grows with it, "
            out += "which is why no run fills the queue first. Last, the relay alone, publishing to a topic that no "
            out += "queue subscribes to: moto's SNS without the delivery.\n\n"
            out += fanOutThroughput(throughput)
        }
        return out
    }

    /// "a / b", or empty when either is missing.
    private func pair(_ a: String?, _ b: String?) -> String {
        guard let a, let b else { return "" }
        return "\(a) / \(b)"
    }

    private func writes() -> String {
        let creates = results.measurements.filter { $0.scenario == "writes" && $0.unit == "creates/s" }
        let bulk = results.measurements.filter { $0.scenario == "writes" && $0.unit == "ms" }
        guard !creates.isEmpty || !bulk.isEmpty else { return "" }
        var out = "## 4. Writes\n\n"
        if !creates.isEmpty {
            out += "Ceiling: pgbench running the statements of a create (the transaction: "
            out += "stream head `FOR UPDATE`, last todo id, head advanced, event and todo row inserted, "
            out += "`last_todo_id` raised, `pg_notify`) with the clients and users of the row, in a database of its "
            out += "own in the same cluster, same run; % of ceiling: Almanac's median over the ceiling's. "
            out += "Projector stopped: the same shape with the store-tailing projector stopped (creates/s median, "
            out += "latency p50). CPU per create: user and system time over a run divided by its creates (median of "
            out += "the runs), of this process (the API, the projector and the load generator's HTTP client) and of "
            out +=
                "PostgreSQL (postmaster and backends); for the ceiling, of pgbench and of PostgreSQL per transaction. "
            out +=
                "Sent by wrk: the same creates from wrk, a separate process as pgbench is (the body of one corpus todo, "
            out += "each connection a thread with its user's key), so that this process holds only the server.\n\n"
            out += table(
                [
                    "clients", "creates/s median", "creates/s p95", "latency p50 (ms)", "latency p95 (ms)",
                    "projector stopped", "PostgreSQL ceiling (tx/s)", "% of ceiling",
                    "CPU µs per create: process / PostgreSQL", "ceiling's CPU µs: pgbench / PostgreSQL",
                    "sent by wrk: creates/s, % of ceiling, process CPU µs per create",
                ],
                creates.map {
                    [
                        $0.series, format($0.summary.median), format($0.summary.p95),
                        $0.details["latency_p50_ms"] ?? "",
                        $0.details["latency_p95_ms"] ?? "",
                        ($0.details["projector_stopped_creates_per_s_median"] ?? "")
                            + ($0.details["projector_stopped_latency_p50_ms"].map { " (\($0) ms)" } ?? ""),
                        $0.details["ceiling_tx_per_s_median"] ?? "",
                        $0.details["percent_of_ceiling"].map { "\($0) %" } ?? "",
                        pair($0.details["cpu_us_per_create_process"], $0.details["cpu_us_per_create_postgres"]),
                        pair($0.details["ceiling_cpu_us_per_tx_pgbench"], $0.details["ceiling_cpu_us_per_tx_postgres"]),
                        [
                            $0.details["wrk_creates_per_s_median"],
                            $0.details["wrk_percent_of_ceiling"].map { "\($0) %" },
                            $0.details["wrk_cpu_us_per_create_process"],
                        ].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", "),
                    ]
                }
            )
        }
        if !bulk.isEmpty {
            out += table(
                ["write", "N", "acknowledged (ms)", "todos/s"],
                bulk.map {
                    [
                        "bulk completion of \(grouped($0.k ?? 0)) todos", grouped($0.n ?? 0), cell($0),
                        $0.details["todos_per_second_median"] ?? "",
                    ]
                }
            )
        }
        return out
    }

    private func memory() -> String {
        let rows = results.measurements.filter { $0.scenario == "memory" }.map { m -> [String] in
            let mib = { (key: String) in m.details[key].flatMap(Double.init).map { format($0 / 1_048_576) } ?? "" }
            return [
                m.series, format(m.summary.median), mib("feed_cache_bytes"), mib("limit_bytes"),
                m.details["within_limit"] ?? "",
            ]
        }
        guard !rows.isEmpty else { return "" }
        return "## 7. Memory\n\n"
            + "RSS: VmRSS of the process hosting the API (the harness: its corpora and HTTP client included); "
            + "feed cache: the bytes the cache counts against its budget; limit: 3 × feed cache + 100 MiB.\n\n"
            + table(["cached", "RSS (MiB)", "feed cache (MiB)", "limit (MiB)", "RSS ≤ limit"], rows)
    }

    private func rebuild() -> String {
        let rows = results.measurements.filter { $0.scenario == "rebuild" }.map { m in
            [
                m.series, grouped(m.n ?? 0), m.details["todos"].flatMap { Int($0) }.map(grouped) ?? "",
                format(m.summary.median), format(m.summary.p95), m.details["seconds_median"] ?? "",
            ]
        }
        guard !rows.isEmpty else { return "" }
        return "## 8. Rebuild (`almanac rebuild`'s CalendarRebuilder, one transaction)\n\n"
            + table(["log", "events", "todos", "events/s median", "events/s p95", "seconds (median)"], rows)
    }
}
