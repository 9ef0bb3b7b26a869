import Foundation
import Logging
import OTel
import ServiceLifecycle
import Tracing

/// Tracing with swift-otel, off unless an OTLP endpoint is configured: the only place that knows
/// swift-otel (the modules use swift-distributed-tracing's `withSpan` and stay on its no-op tracer
/// otherwise).
///
/// On when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and
/// neither `OTEL_TRACES_EXPORTER=none` nor `OTEL_SDK_DISABLED=true` says otherwise. Spans go by
/// OTLP/HTTP (protobuf, or JSON with `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`; the gRPC exporter is
/// not built) to `<endpoint>/v1/traces`; the other `OTEL_*` variables swift-otel reads (service
/// name, resource attributes, sampler, batch processor, headers, timeout) apply. Logs and metrics
/// are not sent over OTLP (metrics have `--metrics-port`).
enum TracingSetup {
    /// Whether `environment` turns tracing on.
    static func isEnabled(_ environment: [String: String]) -> Bool {
        let endpoint = [environment["OTEL_EXPORTER_OTLP_ENDPOINT"], environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]]
            .contains { !($0 ?? "").isEmpty }
        let exporter = environment["OTEL_TRACES_EXPORTER"]?.lowercased()
        let disabled = environment["OTEL_SDK_DISABLED"]?.lowercased() == "true"
        return endpoint && exporter != "none" && !disabled
    }

    /// Bootstraps the OpenTelemetry tracer (once per process) when the environment turns tracing
    /// on, and returns the service that exports its spans: run it first in the service group, so
    /// that it stops last and flushes the spans of the others. Nil when tracing is off.
    static func bootstrap(
        logger: Logger,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> (any Service)? {
        guard isEnabled(environment) else { return nil }
        try checkSupported(environment)
        var configuration = OTel.Configuration.default
        configuration.serviceName = "almanac"
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.logs.enabled = false
        configuration.metrics.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        // Reads the OTEL_* environment over these defaults.
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        InstrumentationSystem.bootstrap(backend.factory)
        logger.info("tracing on: exporting spans over OTLP/HTTP")
        return BoundedFlush(exporter: backend.service, bound: flushBound, logger: logger)
    }

    /// How long the exporter may take to send the last spans once every other service stopped.
    static let flushBound: Duration = .seconds(2)

    /// The exporter, given at most `bound` to flush after a graceful shutdown reached it, then
    /// cancelled: an unreachable collector (whose exports time out after 10 s, and are retried)
    /// must not hold a stopping process past its `--shutdown-timeout`.
    struct BoundedFlush: Service {
        let exporter: any Service
        let bound: Duration
        let logger: Logger

        func run() async throws {
            let exporter = self.exporter
            let bound = self.bound
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The child task sees this service's graceful shutdown (a task-local).
                group.addTask { try await exporter.run() }
                group.addTask {
                    try? await gracefulShutdown()
                    try await Task.sleep(for: bound)
                    throw FlushTimedOut()
                }
                do {
                    try await group.next()
                } catch is FlushTimedOut {
                    logger.warning("the span exporter did not flush within \(bound): the last spans are dropped")
                }
                group.cancelAll()
            }
        }

        struct FlushTimedOut: Error {}
    }

    /// A tracing setting this binary cannot honour.
    struct Unsupported: Error, CustomStringConvertible {
        var description: String
    }

    /// Refuses, with a message, what swift-otel would otherwise stop the process for
    /// (`fatalError` for the gRPC exporter left out of the build) or fail on obscurely.
    static func checkSupported(_ environment: [String: String]) throws {
        for name in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            if let value = environment[name], !["", "http/protobuf", "http/json"].contains(value.lowercased()) {
                throw Unsupported(description: "\(name)=\(value): only http/protobuf and http/json are built in")
            }
        }
        if let exporter = environment["OTEL_TRACES_EXPORTER"], !["", "otlp"].contains(exporter.lowercased()) {
            throw Unsupported(description: "OTEL_TRACES_EXPORTER=\(exporter): only otlp (or none) is built in")
        }
    }
}
