import Foundation

/// Scenario 7: the resident memory of the process hosting the API (this one: the harness, its
/// corpora and its HTTP client included) beside the feed cache's counted bytes, with the largest
/// calendar of `--sizes` cached, then with `memoryUsers` users of `memoryUserTodos` todos cached
/// besides. Target: RSS ≤ 3 × cached feed bytes + 100 MB.
struct MemoryScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    static let cacheGauge = "almanac_feed_cache_bytes"

    func run(into results: inout RunResults) async throws {
        let n = plan.sizes.max() ?? 1_000
        // What the process holds before this scenario's calendars (the server and the harness:
        // this scenario runs before every other one); not a target.
        record("baseline: before this scenario's calendars are loaded", n: nil, target: false, into: &results)
        _ = try await calendars.calendar(n)
        record("N = \(grouped(n)) cached", n: n, into: &results)
        if plan.memoryUsers > 0 {
            let pool = try await calendars.pool(plan.memoryUserTodos, count: plan.memoryUsers)
            // Every feed fetched once more, so each is in the cache (LRU) at the reading.
            for calendar in pool { try await calendar.refreshETag() }
            record(
                "N = \(grouped(n)) and \(plan.memoryUsers) users of \(grouped(plan.memoryUserTodos)) todos cached",
                n: n,
                into: &results
            )
        }
    }

    private func record(_ series: String, n: Int?, target: Bool = true, into results: inout RunResults) {
        let rss = Self.residentBytes()
        let cache = GaugeReadings.shared.value(Self.cacheGauge) ?? .nan
        let limit = target ? 3 * cache + 100 * 1_048_576 : .nan
        Progress.log(
            "memory: \(series): RSS \(format(rss / 1_048_576)) MiB, feed cache \(format(cache / 1_048_576)) MiB, limit \(format(limit / 1_048_576)) MiB"
        )
        results.measurements.append(
            Measurement(
                scenario: "memory",
                series: series,
                n: n,
                unit: "MiB",
                samples: [rss / 1_048_576],
                details: [
                    "rss_bytes": "\(Int(rss))",
                    "feed_cache_bytes": cache.isFinite ? "\(Int(cache))" : "",
                    "limit_bytes": limit.isFinite ? "\(Int(limit))" : "",
                    "within_limit": limit.isFinite ? "\(rss <= limit)" : "",
                ].merging(target ? [:] : ["baseline": "true"]) { $1 }
            )
        )
    }

    /// VmRSS of /proc/self/status, in bytes (NaN where there is no /proc).
    static func residentBytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kilobytes = Double(fields[1]) { return kilobytes * 1024 }
        }
        return .nan
    }
}
