import HTTPTypes
import Metrics

/// The feed cache's and the feed route's series.
enum FeedMetrics {
    /// Feed requests whose calendar state the cache held (no database read).
    static let hits = Counter(label: "almanac_feed_cache_hits_total")
    /// Feed requests that read the database (a load, a delta refresh, waiting for another
    /// request's read, or a calendar streamed past the cache).
    static let misses = Counter(label: "almanac_feed_cache_misses_total")
    /// Calendars dropped to keep the byte budget (least recently used, or alone over it).
    static let evictions = Counter(label: "almanac_feed_cache_evictions_total")
    /// Bytes the cache counts against its budget.
    static let bytes = Gauge(label: "almanac_feed_cache_bytes")
    /// Calendars held.
    static let entries = Gauge(label: "almanac_feed_cache_entries")
    /// The byte budget.
    static let budget = Gauge(label: "almanac_feed_cache_budget_bytes")

    /// Creates the unlabelled series, so they are exported (at 0) before the first feed request.
    static func register(budgetBytes: Int) {
        _ = (hits, misses, evictions, entries)
        bytes.record(0)
        budget.record(budgetBytes)
    }

    static func hit() { hits.increment() }
    static func miss() { misses.increment() }
    static func evicted() { evictions.increment() }

    static func size(bytes: Int, entries: Int) {
        self.bytes.record(bytes)
        self.entries.record(entries)
    }

    /// Counts a feed answer: 200 or 304, by the representation it describes. The four series a
    /// feed answers with are made once (like `HTTPRequestSeries`' are): making a counter per
    /// answer costs an array of dimensions and the backend's registry lookup under its lock.
    static func answered(_ status: HTTPResponse.Status, encoding: FeedEncoding) {
        switch (status, encoding) {
        case (.notModified, .gzip): notModifiedGzip.increment()
        case (.notModified, .identity): notModifiedIdentity.increment()
        case (.ok, .gzip): okGzip.increment()
        case (.ok, .identity): okIdentity.increment()
        default: answers(status, encoding).increment()
        }
    }

    private static let notModifiedGzip = answers(.notModified, .gzip)
    private static let notModifiedIdentity = answers(.notModified, .identity)
    private static let okGzip = answers(.ok, .gzip)
    private static let okIdentity = answers(.ok, .identity)

    private static func answers(_ status: HTTPResponse.Status, _ encoding: FeedEncoding) -> Counter {
        Counter(
            label: "almanac_feed_responses_total",
            dimensions: [("status", String(status.code)), ("encoding", encoding == .gzip ? "gzip" : "identity")]
        )
    }
}
