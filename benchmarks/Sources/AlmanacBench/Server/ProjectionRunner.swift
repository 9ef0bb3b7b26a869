import ServiceLifecycle

/// The projector of the in-process server, in a ServiceGroup of its own so that a scenario can
/// replace it while the API keeps serving: the store-tailing projector (`almanac serve`), or
/// relay → Kafka → consumer-group projector (`almanac serve --bus kafka`).
actor ProjectionRunner {
    private var running: (name: String, group: ServiceGroup, task: Task<Void, any Error>)?

    /// What runs now, e.g. "store" or "kafka"; nil when stopped.
    var current: String? { running?.name }

    /// Starts `services` in one ServiceGroup (they stop in reverse order, as in `almanac serve`).
    func start(_ name: String, _ services: [any Service]) throws {
        if let running { throw BenchError("cannot start \(name): \(running.name) is still running") }
        let group = ServiceGroup(services: services, logger: BenchServer.logger)
        running = (name, group, Task { try await group.run() })
    }

    /// Shuts the current group down gracefully and waits for it; throws what it failed with.
    func stop() async throws {
        guard let running else { return }
        self.running = nil
        await running.group.triggerGracefulShutdown()
        try await running.task.value
    }
}
