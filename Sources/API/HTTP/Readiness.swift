import EventStore
import Hummingbird
import Logging
import PostgresNIO

/// What `GET /api/v1/ready` requires besides a reachable database with every bundled migration.
public struct ReadinessConfiguration: Sendable {
    /// The checkpoint whose reader must not lag too far (the embedded projector's, or the relay's
    /// when a bus carries the events); nil: the lag is not checked.
    public var checkpoint: String?
    /// Most events after that checkpoint; 0: not checked.
    public var maxLagEvents: Int
    /// Largest age in seconds of the oldest event after that checkpoint; 0: not checked.
    public var maxLagSeconds: Int
    /// Longest time the check may take (a database that does not answer is not ready).
    public var timeout: Duration

    public init(
        checkpoint: String? = nil,
        maxLagEvents: Int = 10_000,
        maxLagSeconds: Int = 300,
        timeout: Duration = .seconds(2)
    ) {
        self.checkpoint = checkpoint
        self.maxLagEvents = maxLagEvents
        self.maxLagSeconds = maxLagSeconds
        self.timeout = timeout
    }
}

/// `GET /api/v1/ready`: 200 `{"status": "ready"}`, or 503 `{"error": "<reason>"}` with
/// `Retry-After` while the database is unreachable (or does not answer within the timeout), its
/// schema is behind the bundled migrations, or the configured reader lags beyond its bounds.
/// `GET /api/v1/health` stays the liveness answer (no database involved).
struct Readiness: Sendable {
    let store: EventStore
    let migrator: Migrator
    let configuration: ReadinessConfiguration

    func register(on group: RouterGroup<AppRequestContext>) {
        group.get("ready") { _, context in try await respond(logger: context.logger) }
    }

    func respond(logger: Logger) async throws -> Response {
        if let reason = await notReadyReason(logger: logger) {
            throw APIError(.serviceUnavailable, reason, headers: [.retryAfter: "5"])
        }
        return Response.json(Array(#"{"status": "ready"}"#.utf8))
    }

    /// Why the service is not ready; nil when it is.
    func notReadyReason(logger: Logger) async -> String? {
        let timeout = configuration.timeout
        let outcome: String?? = await withTaskGroup(of: String??.self) { group in
            group.addTask { .some(await check(logger: logger)) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return .none
            }
            defer { group.cancelAll() }
            return await group.next() ?? .none
        }
        guard let outcome else { return "the database did not answer within \(Self.text(timeout))" }
        return outcome
    }

    /// `2 s`, `0.5 s`.
    static func text(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }

    private func check(logger: Logger) async -> String? {
        do {
            return try await store.client.leased { connection in
                let pending = try await migrator.pending(on: connection, logger: logger)
                if !pending.isEmpty {
                    return "the database schema is behind this binary: \(pending.count) migration(s) not applied ("
                        + pending.map(\.name).joined(separator: ", ") + "); run almanac migrate"
                }
                guard let checkpoint = configuration.checkpoint,
                    configuration.maxLagEvents > 0 || configuration.maxLagSeconds > 0
                else { return nil }
                let maxEvents = configuration.maxLagEvents
                let lag = try await Checkpoints.lag(
                    of: checkpoint,
                    limit: maxEvents > 0 ? min(maxEvents, Int.max - 1) + 1 : 1,
                    on: connection,
                    logger: logger
                )
                if maxEvents > 0, lag.events > maxEvents {
                    return "the projection lags: more than \(maxEvents) events after checkpoint \(checkpoint)"
                }
                let maxSeconds = configuration.maxLagSeconds
                if maxSeconds > 0, lag.seconds > Double(maxSeconds) {
                    return
                        "the projection lags: the oldest event after checkpoint \(checkpoint) is \(Int(lag.seconds)) s old (bound \(maxSeconds) s)"
                }
                return nil
            }
        } catch let error where DatabaseOutage.isOutage(error) {
            return "the database is unreachable"
        } catch is CancellationError {
            return "the database did not answer within \(Self.text(configuration.timeout))"
        } catch {
            logger.warning("readiness check failed", metadata: ["error": "\(String(reflecting: error))"])
            return "the readiness check failed: \(error)"
        }
    }
}
