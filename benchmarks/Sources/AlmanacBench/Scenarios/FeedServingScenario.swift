import Foundation
import NIOCore
import NIOHTTP1

/// Scenario 3: feed answers per second for a calendar of N = 10,000 with concurrent keep-alive
/// clients (wrk): conditional requests answered 304, and full 200 answers; beside the same from
/// nginx serving the same bytes as a static file with its own ETag (the reference), the two
/// taking turns run by run.
struct FeedServingScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    func run(into results: inout RunResults) async throws {
        guard let wrk = Wrk.find() else {
            Progress.log("feed: wrk is not installed (benchmarks/run installs it): scenario skipped")
            results.notes.append("feed serving: skipped, wrk not installed")
            return
        }
        let calendar = try await calendars.calendar(plan.feedSize)
        // Earlier scenarios completed todos (which leave the events feed): serve the whole calendar.
        if calendar.open.count < calendar.n {
            try await calendar.reopenAll()
        }
        try await calendar.refreshETag()
        let http = calendars.server.http
        let check = try await http.feed(calendar.feedURL, ifNoneMatch: calendar.etag)
        guard check.status == .notModified else {
            throw BenchError("a conditional feed request answered \(check.status.code), not 304")
        }
        let full = try http.expectSuccess(try await http.feed(calendar.feedURL, ifNoneMatch: nil), "GET feed")
        let size = full.body.readableBytes
        Progress.log("feed: N = \(calendar.n), feed of \(size) octets, ETag \(calendar.etag)")

        let almanac = Target(prefix: "", url: calendar.feedURL, etag: calendar.etag, cpuSeconds: ProcessCPU.ownSeconds)
        guard plan.feedNginx else {
            try await measure(wrk, [almanac], n: calendar.n, size: size, into: &results)
            return
        }
        guard let executable = Nginx.find() else {
            Progress.log("feed: nginx is not installed (benchmarks/run installs it): no comparison")
            results.notes.append("feed serving: nginx not installed, no comparison")
            try await measure(wrk, [almanac], n: calendar.n, size: size, into: &results)
            return
        }
        // The same bytes as a static file, with nginx's own ETag (size and mtime).
        let nginx = try Nginx.start(
            executable: executable,
            file: "feed.ics",
            contents: Data(full.body.readableBytesView)
        )
        defer { nginx.stop() }
        try await nginx.waitUntilServing(http)
        let reply = try http.expectSuccess(try await http.feed(nginx.url, ifNoneMatch: nil), "GET nginx feed")
        guard let etag = reply.headers.first(name: "ETag"), reply.body.readableBytes == size else {
            throw BenchError("nginx answered without an ETag or with other bytes")
        }
        guard try await http.feed(nginx.url, ifNoneMatch: etag).status == .notModified else {
            throw BenchError("a conditional request to nginx did not answer 304")
        }
        Progress.log("feed: nginx on \(nginx.url), ETag \(etag)")
        // Almanac and nginx take turns, run by run, so that the machine's drift during the
        // scenario falls on both alike.
        let (medians, cpuPerAnswer) = try await measure(
            wrk,
            [
                almanac,
                Target(
                    prefix: "nginx: ",
                    url: nginx.url,
                    etag: etag,
                    cpuSeconds: { [pid = nginx.processID] in ProcessCPU.seconds(ofProcessAndChildren: pid) }
                ),
            ],
            n: calendar.n,
            size: size,
            into: &results
        )
        for series in Self.series {
            guard let median = medians["" + series], let nginxMedian = medians["nginx: " + series],
                let index = results.measurements.firstIndex(where: { $0.scenario == "feed" && $0.series == series })
            else { continue }
            results.measurements[index].details["nginx_answers_per_s_median"] = format(nginxMedian)
            results.measurements[index].details["percent_of_nginx"] = format(median / nginxMedian * 100)
            if let cpu = cpuPerAnswer["" + series], let nginxCPU = cpuPerAnswer["nginx: " + series] {
                results.measurements[index].details["cpu_times_nginx"] = format(cpu / nginxCPU)
            }
        }
    }

    /// A server measured: the prefix of its series' names, its feed's URL and current ETag, and
    /// the CPU seconds its processes have used so far.
    struct Target {
        var prefix: String
        var url: String
        var etag: String
        var cpuSeconds: @Sendable () -> Double
    }

    static let series = ["304 Not Modified (If-None-Match)", "200 full feed"]

    /// wrk runs of conditional and full requests to each target, the targets taking turns run by
    /// run; the medians of answers per second and of CPU microseconds per answer (the server's
    /// processes, over the run) by series name (the target's prefix and the series).
    @discardableResult
    private func measure(
        _ wrk: Wrk,
        _ targets: [Target],
        n: Int,
        size: Int,
        into results: inout RunResults
    ) async throws -> (rates: [String: Double], cpu: [String: Double]) {
        var medians: [String: Double] = [:]
        var cpuMedians: [String: Double] = [:]
        for (index, series) in Self.series.enumerated() {
            var rates = Array(repeating: [Double](), count: targets.count)
            var p50 = rates
            var p99 = rates
            var cpu = rates
            var errors = Array(repeating: 0, count: targets.count)
            for run in 1...plan.throughputRuns {
                for (turn, target) in targets.enumerated() {
                    let cpuSpan = CPUSpan(target.cpuSeconds)
                    let report = try await wrk.run(
                        url: target.url,
                        threads: plan.feedThreads,
                        connections: plan.feedConnections,
                        seconds: plan.throughputSeconds,
                        headers: index == 0 ? ["If-None-Match: \(target.etag)"] : []
                    )
                    let perAnswer = cpuSpan.microseconds(per: report.requests)
                    Progress.log(
                        "feed: \(target.prefix)\(series) run \(run)/\(plan.throughputRuns): \(format(report.requestsPerSecond)) answers/s, p50 \(format(report.latency[50] ?? .nan)) ms, p99 \(format(report.latency[99] ?? .nan)) ms, CPU \(format(perAnswer)) µs/answer, errors \(report.errors)"
                    )
                    cpu[turn].append(perAnswer)
                    rates[turn].append(report.requestsPerSecond)
                    p50[turn].append(report.latency[50] ?? .nan)
                    p99[turn].append(report.latency[99] ?? .nan)
                    errors[turn] += report.errors
                }
            }
            for (turn, target) in targets.enumerated() {
                if errors[turn] > 0 {
                    results.notes.append(
                        "feed serving \(target.prefix)\(series): \(errors[turn]) error answers or socket errors"
                    )
                }
                let measurement = Measurement(
                    scenario: "feed",
                    series: target.prefix + series,
                    n: n,
                    unit: "answers/s",
                    samples: rates[turn],
                    details: [
                        "connections": "\(plan.feedConnections)",
                        "wrk_threads": "\(plan.feedThreads)",
                        "seconds_per_run": "\(plan.throughputSeconds)",
                        "latency_p50_ms_median": format(Summary(p50[turn]).median),
                        "latency_p99_ms_median": format(Summary(p99[turn]).median),
                        "cpu_us_per_answer_median": format(Summary(cpu[turn]).median),
                        "feed_octets": "\(size)",
                        "errors": "\(errors[turn])",
                    ]
                )
                results.measurements.append(measurement)
                medians[target.prefix + series] = measurement.summary.median
                cpuMedians[target.prefix + series] = Summary(cpu[turn]).median
            }
        }
        return (medians, cpuMedians)
    }
}
