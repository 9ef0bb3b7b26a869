import Metrics

/// The series the event store reports through swift-metrics (a no-op until the executable
/// bootstraps a backend). Names follow Prometheus: units in names, `_total` counters.
public enum StoreMetrics {
    /// Events appended, counted once their transaction committed.
    static let eventsAppended = Counter(label: "almanac_events_appended_total")

    /// Counts `count` appended events (call after the append's transaction committed).
    public static func appended(_ count: Int) {
        if count > 0 { eventsAppended.increment(by: Int64(count)) }
    }
}
