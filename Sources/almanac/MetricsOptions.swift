import ArgumentParser
import Foundation
import Metrics
import Prometheus
import Runtime

/// `--metrics-port` / `--metrics-host`: a Prometheus endpoint (`GET /metrics`) on a listener of
/// its own, off by default. The Prometheus backend is bootstrapped only then; otherwise every
/// series is swift-metrics' no-op.
struct MetricsOptions: ParsableArguments {
    @Option(
        help:
            "Port of the Prometheus endpoint GET /metrics, on a listener apart from the API (env ALMANAC_METRICS_PORT). Default: no metrics."
    )
    var metricsPort: Int?

    /// `--metrics-port`, else ALMANAC_METRICS_PORT.
    var port: Int? { metricsPort ?? Int(ProcessInfo.processInfo.environment["ALMANAC_METRICS_PORT"] ?? "") }

    @Option(help: "Address of the metrics listener (env ALMANAC_METRICS_HOST).")
    var metricsHost: String = ProcessInfo.processInfo.environment["ALMANAC_METRICS_HOST"] ?? "127.0.0.1"

    @Option(
        help:
            "Seconds between samples of the database gauges (lags, held-back horizon, job queue) and of a bus projector's Kafka lag or SQS queue depth."
    )
    var metricsSampleInterval: Int = 5

    func validate(apiPort: Int? = nil) throws {
        guard let port else { return }
        guard (0...65_535).contains(port) else { throw ValidationError("--metrics-port must be 0...65535") }
        if let apiPort, port == apiPort, port != 0 {
            throw ValidationError("--metrics-port must differ from --port: /metrics is never served on the API")
        }
        guard metricsSampleInterval >= 1 else { throw ValidationError("--metrics-sample-interval must be at least 1") }
    }

    /// Bootstraps the Prometheus backend (once per process) and returns where to expose it;
    /// nil without `--metrics-port`.
    func bootstrap() -> MetricsSettings? {
        guard let port else { return nil }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return MetricsSettings(
            host: metricsHost,
            port: port,
            sampleInterval: .seconds(metricsSampleInterval),
            exposition: {
                var buffer: [UInt8] = []
                buffer.reserveCapacity(16 << 10)
                registry.emit(into: &buffer)
                return buffer
            }
        )
    }
}
