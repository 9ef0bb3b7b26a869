public import Bus
public import EventStore
import Logging
import PostgresNIO
public import ServiceLifecycle
import Tracing

/// `almanac relay`: publishes every event of the global log to the bus, in cursor order, and
/// advances its checkpoint only after the broker acknowledged the batch (at-least-once: a crash
/// between the two republishes the batch; consumers skip duplicates by version).
public struct OutboxRelay: Service {
    public let tail: LogTail
    public let publisher: any EventPublisher
    /// The checkpoint `almanac relay` keeps.
    public static let defaultCheckpointName = "bus-relay"

    public init(
        store: EventStore,
        publisher: any EventPublisher,
        checkpointName: String = OutboxRelay.defaultCheckpointName,
        batchSize: Int = 500
    ) {
        self.tail = LogTail(store: store, checkpointName: checkpointName, batchSize: batchSize)
        self.publisher = publisher
    }

    var handler: LogTail.Handler {
        let publisher = self.publisher
        let store = tail.store
        let name = tail.checkpointName
        return { batch, cursor in
            // One span per batch, linked to the appends that wrote its events (many traces).
            try await withSpan("relay.publish", ofKind: .producer) { span in
                span.attributes["messaging.batch.message_count"] = batch.count
                span.attributes["almanac.checkpoint"] = name
                TraceCarrier.link(span, to: batch.lazy.map(\.traceContext))
                do {
                    try await publisher.publish(batch.map { BusEnvelope($0).message })
                } catch {
                    if !Task.isCancelled { RelayMetrics.publishFailed() }
                    throw error
                }
                RelayMetrics.published(batch.count)
                try await store.client.leased {
                    try await Checkpoints.save(
                        name,
                        cursor,
                        on: $0,
                        prepared: store.preparedStatements,
                        logger: store.logger
                    )
                }
            }
        }
    }

    public func run() async throws {
        RelayMetrics.register()
        try await tail.run(handle: handler)
    }

    /// Publishes everything committed so far (tests, one-shot use); throws
    /// `LogTail.DrainTimedOut` when that takes longer than `timeout`.
    public func drainCommitted(timeout: Duration = .seconds(120)) async throws {
        try await tail.drainCommitted(timeout: timeout, handle: handler)
    }
}
