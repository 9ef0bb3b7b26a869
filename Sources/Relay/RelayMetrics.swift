import Metrics

/// The relay's series (its lag is sampled from the database: `DatabaseMetricsSampler`).
enum RelayMetrics {
    /// Batches the bus refused or failed to acknowledge (the batch is published again).
    static let publishErrors = Counter(label: "almanac_relay_publish_errors_total")
    /// Events the bus acknowledged (at least once: a batch republished after a crash counts again).
    static let eventsPublished = Counter(label: "almanac_relay_events_published_total")

    /// Creates the series, so they are exported (at 0) before the first batch.
    static func register() {
        _ = (publishErrors, eventsPublished)
    }

    static func publishFailed() {
        publishErrors.increment()
    }

    static func published(_ count: Int) {
        eventsPublished.increment(by: Int64(count))
    }
}
