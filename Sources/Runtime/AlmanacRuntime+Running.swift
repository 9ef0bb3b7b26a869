public import Logging
public import ServiceLifecycle
public import UnixSignals

extension AlmanacRuntime {
    /// How a process stops.
    public struct Shutdown: Sendable {
        /// Signals that start a graceful shutdown.
        public var signals: [UnixSignal]
        /// How long a graceful shutdown may take before the services are cancelled.
        public var gracefulDeadline: Duration?
        /// How long cancellation may take before the process is stopped hard.
        public var cancellationDeadline: Duration?

        public init(
            signals: [UnixSignal] = [.sigterm, .sigint],
            gracefulDeadline: Duration? = .seconds(25),
            cancellationDeadline: Duration? = .seconds(5)
        ) {
            self.signals = signals
            self.gracefulDeadline = gracefulDeadline
            self.cancellationDeadline = cancellationDeadline
        }

        /// No signal handling (tests, benchmarks): the caller triggers the shutdown.
        public static let programmatic = Shutdown(
            signals: [],
            gracefulDeadline: .seconds(30),
            cancellationDeadline: nil
        )
    }

    /// The one service group of a process: runs `services` until a signal (or their end), then
    /// stops them in reverse order within the deadlines. A service that returns is an error
    /// (a loop that should run until shutdown ended), unless `servicesMayFinish`: then the first
    /// to return shuts the group down gracefully (a command that ends by itself).
    static func group(
        _ services: [any Service],
        logger: Logger,
        shutdown: Shutdown,
        servicesMayFinish: Bool = false
    ) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map {
                servicesMayFinish
                    ? .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) : .init(service: $0)
            },
            gracefulShutdownSignals: shutdown.signals,
            logger: logger
        )
        configuration.maximumGracefulShutdownDuration = shutdown.gracefulDeadline
        configuration.maximumCancellationDuration = shutdown.cancellationDeadline
        return ServiceGroup(configuration: configuration)
    }

    /// Runs `services` until a shutdown signal (or, with `servicesMayFinish`, until one returns).
    public static func run(
        _ services: [any Service],
        logger: Logger,
        shutdown: Shutdown = Shutdown(),
        servicesMayFinish: Bool = false
    ) async throws {
        try await group(services, logger: logger, shutdown: shutdown, servicesMayFinish: servicesMayFinish).run()
    }

    /// Runs `services` in the background while `body` runs, then shuts them down gracefully
    /// (tests and benchmarks).
    public static func withRunning<Result: Sendable>(
        _ services: [any Service],
        logger: Logger,
        _ body: () async throws -> Result
    ) async throws -> Result {
        let group = group(services, logger: logger, shutdown: .programmatic)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(try await body())
            } catch {
                outcome = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try outcome.get()
        }
    }

    /// Services started in the background and stopped on request (a benchmark's replaceable
    /// projector).
    public final class Background: Sendable {
        private let group: ServiceGroup
        private let task: Task<Void, any Error>

        public init(_ services: [any Service], logger: Logger) {
            let group = AlmanacRuntime.group(services, logger: logger, shutdown: .programmatic)
            self.group = group
            self.task = Task { try await group.run() }
        }

        /// Stops the services gracefully and waits for them.
        public func stop() async throws {
            await group.triggerGracefulShutdown()
            try await task.value
        }
    }
}
