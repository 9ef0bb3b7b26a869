import Logging
import Metrics
import PostgresNIO
public import ServiceLifecycle

/// Samples what only the database knows, every `interval`, into gauges: how far each log reader
/// (projector, relay) is behind the head of the log, how long an open transaction has been
/// holding the gap-safe horizon back, and the depth of the job queue.
///
/// Every process with metrics enabled samples the whole database, so an API-only process shows
/// the lag of a projector running elsewhere (and that lag keeps rising while that projector is
/// stopped). Only checkpoints that exist are reported: a Kafka or SQS projector keeps its
/// progress in the bus (offsets, the queue), not in a checkpoint.
public struct DatabaseMetricsSampler: Service {
    public let store: EventStore
    public var interval: Duration
    /// Checkpoints of relays (reported as `almanac_relay_lag_*`); every other checkpoint is a
    /// projector's (`almanac_projector_lag_*`).
    public var relayCheckpoints: Set<String>
    /// Events counted behind a checkpoint at most (the count is an index range scan).
    public var lagCountCap: Int64 = 1_000_000

    public init(store: EventStore, interval: Duration = .seconds(5), relayCheckpoints: Set<String>) {
        self.store = store
        self.interval = interval
        self.relayCheckpoints = relayCheckpoints
    }

    public func run() async throws {
        await sampleEvery(interval, "database gauges", logger: store.logger) { try await sample() }
    }

    /// Reads and records one sample of every gauge.
    public func sample() async throws {
        for lag in try await Checkpoints.lags(client: store.client, cap: lagCountCap, logger: store.logger) {
            let relay = relayCheckpoints.contains(lag.name)
            let dimensions = [(relay ? "relay" : "projector", lag.name)]
            let prefix = relay ? "almanac_relay_lag" : "almanac_projector_lag"
            Gauge(label: "\(prefix)_events", dimensions: dimensions).record(lag.events)
            Gauge(label: "\(prefix)_seconds", dimensions: dimensions).record(lag.seconds)
        }
        Gauge(label: "almanac_log_reader_held_back_seconds").record(try await store.horizonHeldBackSeconds())
        let depth = try await JobTable(client: store.client, logger: store.logger).depth()
        for kind in [JobTable.Kind.projection, .full] {
            for status in ["PENDING", "STARTED"] {
                Gauge(
                    label: "almanac_jobs_queued",
                    dimensions: [("mode", kind.rawValue), ("status", status.lowercased())]
                ).record(depth[JobTable.DepthKey(kind: kind, status: status)] ?? 0)
            }
        }
    }
}
