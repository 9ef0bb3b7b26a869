public import Logging
import ServiceLifecycle

/// Runs `sample` every `interval` until graceful shutdown or cancellation: the loop of the metrics
/// samplers (database gauges, bus consumer lag, queue depth).
///
/// A failing sample never ends the loop: the gauges keep their last values, and the first failure
/// of a run of failures is logged at warning level (the others at debug), naming `what`.
public func sampleEvery(
    _ interval: Duration,
    _ what: String,
    logger: Logger,
    _ sample: @escaping @Sendable () async throws -> Void
) async {
    try? await cancelWhenGracefulShutdown {
        var failing = false
        while !Task.isCancelled {
            do {
                try await sample()
                failing = false
            } catch {
                if Task.isCancelled { return }
                logger.log(
                    level: failing ? .debug : .warning,
                    "metrics sample failed; the gauges keep their last values",
                    metadata: ["sample": "\(what)", "error": "\(String(reflecting: error))"]
                )
                failing = true
            }
            try await Task.sleep(for: interval)
        }
    }
}
