import Runtime
import ServiceLifecycle

/// The projector of the in-process server, run apart from the API so that a scenario can
/// replace it while the API keeps serving: the store-tailing projector (`almanac serve`), or
/// relay → Kafka → consumer-group projector (`almanac serve --bus kafka`).
actor ProjectionRunner {
    private var running: (name: String, services: AlmanacRuntime.Background)?

    /// What runs now, e.g. "store" or "kafka"; nil when stopped.
    var current: String? { running?.name }

    /// Starts `services` (they stop in reverse order, as in `almanac serve`).
    func start(_ name: String, _ services: [any Service]) throws {
        if let running { throw BenchError("cannot start \(name): \(running.name) is still running") }
        running = (name, AlmanacRuntime.Background(services, logger: BenchServer.logger))
    }

    /// Stops the current services gracefully and waits for them; throws what they failed with.
    func stop() async throws {
        guard let running else { return }
        self.running = nil
        try await running.services.stop()
    }
}
