public import API
import Bus
public import EventStore
import Hummingbird
import HummingbirdCore
public import Logging
import NIOCore
public import PostgresNIO
import Projector
import Relay
public import ServiceLifecycle

/// The composition root: the one place that builds Almanac's services for a process shape and
/// runs them. `almanac serve`, `relay` and `project`, the benchmark server and the test app all
/// go through it.
public struct AlmanacRuntime: Sendable {
    public let store: EventStore
    public let services: AlmanacServices
    public let logger: Logger

    /// `preparedStatements`: see `EventStore.preparedStatements`.
    public init(
        client: PostgresClient,
        listenClient: PostgresClient? = nil,
        logger: Logger,
        preparedStatements: Bool
    ) {
        self.store = EventStore(
            client: client,
            listenClient: listenClient,
            logger: logger,
            preparedStatements: preparedStatements
        )
        self.services = AlmanacServices(store: store)
        self.logger = logger
    }

    /// What one process runs.
    public struct Plan: Sendable {
        /// The HTTP API; nil: none.
        public var api: APISettings?
        /// Where the calendar projector reads events; nil: no projector in this process.
        public var projector: ProjectorSource?
        /// The bus the relay publishes to; nil: no relay in this process.
        public var relay: FanOut?
        /// Run a worker for `full` calendar jobs.
        public var jobs: Bool
        /// How often an idle job worker looks for jobs whose notification was missed.
        public var jobPollInterval: Duration
        /// The metrics listener and database sampler; nil: no metrics endpoint.
        public var metrics: MetricsSettings?

        public init(
            api: APISettings? = nil,
            projector: ProjectorSource? = nil,
            relay: FanOut? = nil,
            jobs: Bool = false,
            jobPollInterval: Duration = .milliseconds(500),
            metrics: MetricsSettings? = nil
        ) {
            self.api = api
            self.projector = projector
            self.relay = relay
            self.jobs = jobs
            self.jobPollInterval = jobPollInterval
            self.metrics = metrics
        }
    }

    /// The global-log checkpoint this plan advances: the embedded projector's, else the relay's;
    /// nil when it runs neither (its readiness then watches no lag unless told).
    public static func checkpoint(of plan: Plan) -> String? {
        if case .store = plan.projector { return StoreTailingProjector.defaultCheckpointName }
        if plan.relay != nil { return OutboxRelay.defaultCheckpointName }
        return nil
    }

    /// The HTTP API's settings and where it listens.
    public struct APISettings: Sendable {
        public var configuration: APIConfiguration
        public var host: String
        public var port: Int
        /// A connection that sends nothing for this long is closed (a client that stalls, or
        /// never finishes sending its request).
        public var idleTimeout: Duration
        /// Connections served at once; more wait in the accept backlog.
        public var maxConnections: Int
        /// Called with the port the server listens on once it does: with `port` 0 the kernel
        /// chooses a free one at the bind itself (nothing can take it between a choice and the
        /// bind), and this says which. Connections are accepted after it returns.
        public var onListening: (@Sendable (Int) async -> Void)?

        public init(
            configuration: APIConfiguration,
            host: String,
            port: Int,
            idleTimeout: Duration = .seconds(30),
            maxConnections: Int = 1024,
            onListening: (@Sendable (Int) async -> Void)? = nil
        ) {
            self.configuration = configuration
            self.host = host
            self.port = port
            self.idleTimeout = idleTimeout
            self.maxConnections = maxConnections
            self.onListening = onListening
        }
    }

    /// Where a projector reads events from.
    public enum ProjectorSource: Sendable {
        /// Tail the event store's global log (the embedded mode).
        case store
        /// Consume the bus.
        case bus(FanOut)
    }

    /// The services of `plan`, in start order: metrics, relay, projector, job worker, then the
    /// API (so the API stops first, the relay's publisher after the projector, metrics last).
    public func services(for plan: Plan) async throws -> [any Service] {
        var services: [any Service] = []
        if let metrics = plan.metrics { services += metricsServices(metrics) }
        if let relay = plan.relay { services += try relay.relayServices(store: store, logger: logger) }
        if let source = plan.projector {
            services += try projector(source, metricsInterval: plan.metrics?.sampleInterval)
        }
        if plan.jobs { services.append(jobWorker(pollInterval: plan.jobPollInterval)) }
        if let api = plan.api {
            let built = try await self.api(api.configuration)
            services += built.services
            let idle = api.idleTimeout.components
            services.append(
                Application(
                    router: built.responder,
                    server: .http1(
                        configuration: .init(
                            idleTimeout: .nanoseconds(idle.seconds * 1_000_000_000 + idle.attoseconds / 1_000_000_000)
                        )
                    ),
                    configuration: .init(
                        address: .hostname(api.host, port: api.port),
                        serverName: "almanac",
                        availableConnectionsDelegate: MaximumAvailableConnections(api.maxConnections)
                    ),
                    onServerRunning: { [onListening = api.onListening] channel in
                        if let port = channel.localAddress?.port { await onListening?(port) }
                    },
                    logger: logger
                )
            )
        }
        return services
    }

    /// The router and the services it needs beside it (see `AlmanacAPI.build`).
    public func api(_ configuration: APIConfiguration) async throws -> AlmanacAPI.Built {
        try await AlmanacAPI.build(services: services, configuration: configuration)
    }

    /// A calendar projector, what feeds it, and the re-renderer of large time-zone changes;
    /// with `metricsInterval`, a bus projector's consumer lag or queue depth is sampled that
    /// often (see `KafkaLagSampler`, `SQSDepthSampler`).
    public func projector(_ source: ProjectorSource, metricsInterval: Duration? = nil) throws -> [any Service] {
        let writer = ProjectionWriter(store: store)
        let deferred = DeferredRerenderer(writer: writer)
        switch source {
        case .store: return [StoreTailingProjector(writer: writer), deferred]
        case .bus(let fanOut):
            return try fanOut.projectorServices(writer: writer, metricsInterval: metricsInterval, logger: logger)
                + [deferred]
        }
    }

    /// A worker for `full` calendar jobs.
    public func jobWorker(pollInterval: Duration = .milliseconds(500)) -> JobWorker {
        var worker = JobWorker(queue: services.jobs)
        worker.pollInterval = pollInterval
        return worker
    }
}
