import Foundation
import NIOCore
import NIOHTTP1

/// Scenario 3: feed answers per second for a calendar of N = 10,000 with concurrent keep-alive
/// clients (wrk): conditional requests answered 304, and full 200 answers.
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

        for (series, headers) in [
            ("304 Not Modified (If-None-Match)", ["If-None-Match: \(calendar.etag)"]),
            ("200 full feed", []),
        ] {
            var rates: [Double] = []
            var p50: [Double] = []
            var p99: [Double] = []
            var errors = 0
            for run in 1...plan.throughputRuns {
                let report = try await wrk.run(
                    url: calendar.feedURL,
                    threads: plan.feedThreads,
                    connections: plan.feedConnections,
                    seconds: plan.throughputSeconds,
                    headers: headers
                )
                Progress.log(
                    "feed: \(series) run \(run)/\(plan.throughputRuns): \(format(report.requestsPerSecond)) answers/s, p50 \(format(report.latency[50] ?? .nan)) ms, p99 \(format(report.latency[99] ?? .nan)) ms, errors \(report.errors)"
                )
                rates.append(report.requestsPerSecond)
                p50.append(report.latency[50] ?? .nan)
                p99.append(report.latency[99] ?? .nan)
                errors += report.errors
            }
            if errors > 0 {
                results.notes.append("feed serving \(series): \(errors) error answers or socket errors")
            }
            results.measurements.append(
                Measurement(
                    scenario: "feed",
                    series: series,
                    n: calendar.n,
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
            )
        }
    }
}
