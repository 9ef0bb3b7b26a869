import Foundation
import NIOCore
import NIOHTTP1

/// Scenario 3: feed answers per second for a calendar of N = 10,000 with concurrent keep-alive
/// clients (wrk): conditional requests answered 304, and full 200 answers; then the same from
/// nginx serving the same bytes as a static file with its own ETag (the reference).
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

        try await measure(
            wrk,
            url: calendar.feedURL,
            etag: calendar.etag,
            n: calendar.n,
            size: size,
            prefix: "",
            into: &results
        )
        guard plan.feedNginx else { return }
        guard let executable = Nginx.find() else {
            Progress.log("feed: nginx is not installed (benchmarks/run installs it): no comparison")
            results.notes.append("feed serving: nginx not installed, no comparison")
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
        let reference = try await measure(
            wrk,
            url: nginx.url,
            etag: etag,
            n: calendar.n,
            size: size,
            prefix: "nginx: ",
            into: &results
        )
        for series in Self.series {
            guard let nginxMedian = reference[series],
                let index = results.measurements.firstIndex(where: { $0.scenario == "feed" && $0.series == series })
            else { continue }
            let median = results.measurements[index].summary.median
            results.measurements[index].details["nginx_answers_per_s_median"] = format(nginxMedian)
            results.measurements[index].details["percent_of_nginx"] = format(median / nginxMedian * 100)
        }
    }

    static let series = ["304 Not Modified (If-None-Match)", "200 full feed"]

    /// wrk runs of conditional and full requests to `url`; the indexes of the measurements added
    /// with their series, and the medians by series.
    @discardableResult
    private func measure(
        _ wrk: Wrk,
        url: String,
        etag: String,
        n: Int,
        size: Int,
        prefix: String,
        into results: inout RunResults
    ) async throws -> [String: Double] {
        var medians: [String: Double] = [:]
        for (series, headers) in zip(Self.series, [["If-None-Match: \(etag)"], []]) {
            var rates: [Double] = []
            var p50: [Double] = []
            var p99: [Double] = []
            var errors = 0
            for run in 1...plan.throughputRuns {
                let report = try await wrk.run(
                    url: url,
                    threads: plan.feedThreads,
                    connections: plan.feedConnections,
                    seconds: plan.throughputSeconds,
                    headers: headers
                )
                Progress.log(
                    "feed: \(prefix)\(series) run \(run)/\(plan.throughputRuns): \(format(report.requestsPerSecond)) answers/s, p50 \(format(report.latency[50] ?? .nan)) ms, p99 \(format(report.latency[99] ?? .nan)) ms, errors \(report.errors)"
                )
                rates.append(report.requestsPerSecond)
                p50.append(report.latency[50] ?? .nan)
                p99.append(report.latency[99] ?? .nan)
                errors += report.errors
            }
            if errors > 0 {
                results.notes.append("feed serving \(prefix)\(series): \(errors) error answers or socket errors")
            }
            let measurement = Measurement(
                scenario: "feed",
                series: prefix + series,
                n: n,
                unit: "answers/s",
                samples: rates,
                details: [
                    "connections": "\(plan.feedConnections)",
                    "wrk_threads": "\(plan.feedThreads)",
                    "seconds_per_run": "\(plan.throughputSeconds)",
                    "latency_p50_ms_median": format(Summary(p50).median),
                    "latency_p99_ms_median": format(Summary(p99).median),
                    "feed_octets": "\(size)",
                    "errors": "\(errors)",
                ]
            )
            results.measurements.append(measurement)
            medians[series] = measurement.summary.median
        }
        return medians
    }
}
