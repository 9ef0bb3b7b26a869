import EventStore
import Hummingbird
import Logging
import NIOCore
import Relay
import ServiceLifecycle

/// Where a process exposes its metrics, and what it exposes.
public struct MetricsSettings: Sendable {
    /// The address of the metrics listener (never the API's: `/metrics` is not public).
    public var host: String
    public var port: Int
    /// How often the database gauges (lags, held-back horizon, job queue) are sampled.
    public var sampleInterval: Duration
    /// The process's metrics in the Prometheus text format (the executable owns the backend).
    public var exposition: @Sendable () -> [UInt8]

    public init(
        host: String = "127.0.0.1",
        port: Int,
        sampleInterval: Duration = .seconds(5),
        exposition: @escaping @Sendable () -> [UInt8]
    ) {
        self.host = host
        self.port = port
        self.sampleInterval = sampleInterval
        self.exposition = exposition
    }
}

extension AlmanacRuntime {
    /// The metrics listener (`GET /metrics` on its own address) and the database sampler, in
    /// start order: first of a process, so they stop last and a shutdown can still be watched.
    func metricsServices(_ settings: MetricsSettings) -> [any Service] {
        let router = Router()
        let exposition = settings.exposition
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: exposition()))
            )
        }
        let listener = Application(
            router: router,
            configuration: .init(
                address: .hostname(settings.host, port: settings.port),
                serverName: "almanac-metrics"
            ),
            logger: logger
        )
        let sampler = DatabaseMetricsSampler(
            store: store,
            interval: settings.sampleInterval,
            relayCheckpoints: [OutboxRelay.defaultCheckpointName]
        )
        return [listener, sampler]
    }
}
