import Foundation

/// The targets of issues #4 and #12, checked against this run's measurements (never assumed).
enum TargetEvaluation {
    static func evaluate(_ results: RunResults) -> [TargetCheck] {
        var checks: [TargetCheck] = []

        let render = results.find("component", "full render", n: 100_000)
        let regeneration = results.find("component", "full regeneration", n: 100_000)
        checks.append(
            TargetCheck(
                target: "full render of N = 100,000 components in-process < 150 ms (p50)",
                measured: render.map {
                    "render + assemble \(format($0.summary.median)) ms"
                        + (regeneration.map { "; with the fold of all events \(format($0.summary.median)) ms" } ?? "")
                } ?? "not measured",
                reached: render.map { $0.summary.median < 150 }
            )
        )

        checks.append(
            below(
                render,
                100,
                "full render of N = 100,000 components in-process < 100 ms (p50; issue #12)",
                what: "render + assemble "
            )
        )
        checks.append(
            below(
                results.find("e2e", "bulk completion: new feed served (gzip)", n: 100_000, k: 1_000),
                50,
                "gzip client: bulk completion of k = 1,000 in N = 100,000, write -> new feed served, p50 < 50 ms"
            )
        )
        checks.append(
            below(
                results.find("e2e", "edit: new feed served (gzip)", n: 100_000, k: 1),
                15,
                "gzip client: single-todo edit in N = 100,000, write -> new feed served, p50 < 15 ms"
            )
        )
        let gzipDownload = results.find("e2e", "feed download, unchanged (200, gzip)", n: 100_000)
        checks.append(
            below(
                gzipDownload,
                10,
                "gzip client: unconditional GET of the unchanged N = 100,000 feed < 10 ms (p50)",
                unit: " ms (\(gzipDownload?.details["gzip_octets"].flatMap(Int.init).map(grouped) ?? "?") octets)"
            )
        )

        let bulk = results.find("e2e", "bulk completion: new feed served", n: 100_000, k: 1_000)
        checks.append(
            TargetCheck(
                target: "bulk completion of k = 1,000 in N = 100,000, end to end, p50 < 100 ms",
                measured: bulk.map { "\(format($0.summary.median)) ms" } ?? "not measured",
                reached: bulk.map { $0.summary.median < 100 }
            )
        )

        let edits = results.measurements.filter { $0.scenario == "e2e" && $0.series == "edit: new feed served" }
        checks.append(
            TargetCheck(
                target: "single-todo edit, end to end, p50 < 20 ms",
                measured: edits.isEmpty
                    ? "not measured"
                    : edits.map { "N = \(grouped($0.n ?? 0)): \(format($0.summary.median)) ms" }.joined(
                        separator: "; "
                    ),
                reached: edits.isEmpty ? nil : edits.allSatisfy { $0.summary.median < 20 }
            )
        )

        var growth: [String] = []
        var growthOK: Bool?
        let series: [(String, String, Int?)] =
            [("edit", "incremental edit", 1)]
            + [1, 100, 1_000, 10_000].map { ("k = \(grouped($0))", "incremental bulk completion", $0) }
        for (label, name, k) in series {
            guard let small = results.find("component", name, n: 1_000, k: k),
                let large = results.find("component", name, n: 100_000, k: k)
            else { continue }
            let factor = large.summary.median / small.summary.median
            growth.append("\(label): ×\(String(format: "%.2f", factor))")
            growthOK = (growthOK ?? true) && factor <= 2
        }
        checks.append(
            TargetCheck(
                target: "incremental cost for fixed k grows ≤ 2× from N = 1,000 to N = 100,000 (in-process apply, p50)",
                measured: growth.isEmpty ? "not measured" : growth.joined(separator: "; "),
                reached: growthOK
            )
        )

        let notModified = results.measurements.first { $0.scenario == "feed" && $0.series.hasPrefix("304") }
        checks.append(
            TargetCheck(
                target: "feed 304 answers > 10,000 per second",
                measured: notModified.map {
                    "\(format($0.summary.median)) answers/s (median of \($0.samples.count) runs)"
                }
                    ?? "not measured",
                reached: notModified.map { $0.summary.median > 10_000 }
            )
        )

        let creates = results.measurements.filter { $0.scenario == "writes" && $0.unit == "creates/s" }
            .compactMap { m in m.details["percent_of_ceiling"].flatMap(Double.init).map { (m.series, $0) } }
        checks.append(
            TargetCheck(
                target: "creates ≥ 70 % of the PostgreSQL ceiling of the same statements, every client/user shape",
                measured: creates.isEmpty
                    ? "not measured" : creates.map { "\($0.0): \(format($0.1)) %" }.joined(separator: "; "),
                reached: creates.isEmpty ? nil : creates.allSatisfy { $0.1 >= 70 }
            )
        )

        let nginx = results.measurements.first { $0.scenario == "feed" && $0.series.hasPrefix("304") }
            .flatMap { $0.details["percent_of_nginx"].flatMap(Double.init) }
        checks.append(
            TargetCheck(
                target: "feed 304 answers ≥ 50 % of nginx's for the same bytes",
                measured: nginx.map { "\(format($0)) % of nginx" } ?? "not measured",
                reached: nginx.map { $0 >= 50 }
            )
        )

        let memory = results.measurements.filter { $0.scenario == "memory" && $0.details["baseline"] == nil }
        checks.append(
            TargetCheck(
                target: "RSS ≤ 3 × cached feed bytes + 100 MiB",
                measured: memory.isEmpty
                    ? "not measured"
                    : memory.map {
                        "\($0.series): RSS \(format($0.summary.median)) MiB, limit \($0.details["limit_bytes"].flatMap(Double.init).map { format($0 / 1_048_576) } ?? "–") MiB"
                    }.joined(separator: "; "),
                reached: memory.isEmpty || memory.contains { $0.details["within_limit"] == "" }
                    ? nil : memory.allSatisfy { $0.details["within_limit"] == "true" }
            )
        )

        let rebuild = results.measurements.first { $0.scenario == "rebuild" }
        checks.append(
            TargetCheck(
                target: "rebuild ≥ 50,000 events/s on 1,000,000 events",
                measured: rebuild.map { "\(format($0.summary.median)) events/s on \(grouped($0.n ?? 0)) events" }
                    ?? "not measured",
                // Only a log of 1,000,000 events or more answers the target.
                reached: rebuild.flatMap { ($0.n ?? 0) >= 1_000_000 ? $0.summary.median >= 50_000 : nil }
            )
        )
        return checks
    }

    /// A target on one measurement's median: below `limit` milliseconds.
    private static func below(
        _ measurement: Measurement?,
        _ limit: Double,
        _ target: String,
        what: String = "",
        unit: String = " ms"
    ) -> TargetCheck {
        TargetCheck(
            target: target,
            measured: measurement.map { "\(what)\(format($0.summary.median))\(unit)" } ?? "not measured",
            reached: measurement.map { $0.summary.median < limit }
        )
    }
}
