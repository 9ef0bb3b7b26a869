public import Bus
import EventStore
import Logging
public import ServiceLifecycle

/// `almanac project --source kafka`: the projector fed by a Kafka consumer group. Each message
/// is applied through `ProjectionWriter` (duplicates are no-ops, gaps are filled from the
/// store) and its offset is committed only after the projection transaction committed.
public struct KafkaProjector: Service {
    public let subscriber: KafkaSubscriber
    public let writer: ProjectionWriter

    public init(subscriber: KafkaSubscriber, writer: ProjectionWriter) {
        self.subscriber = subscriber
        self.writer = writer
    }

    var logger: Logger { writer.store.logger }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                for try await received in subscriber.messages {
                    try await handle(received)
                }
            }
        } catch is CancellationError {
            // Graceful shutdown: the message being handled was either committed or will be
            // redelivered to the next owner of its partition.
        }
    }

    func handle(_ received: ReceivedMessage) async throws {
        let event: RecordedEvent
        do {
            event = try BusEnvelope.event(from: received.message)
        } catch {
            // A message that is not an Almanac envelope can never be applied: skip it, loudly.
            logger.error(
                "skipping undecodable message",
                metadata: ["partition": "\(received.partition)", "offset": "\(received.offset)", "error": "\(error)"]
            )
            try await commit(received)
            return
        }
        var attempt = 0
        while true {
            do {
                try await writer.apply([event])
                break
            } catch {
                attempt += 1
                logger.error("projection failed; retrying", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: .milliseconds(min(5_000, 100 * attempt)))
            }
        }
        try await commit(received)
    }

    private func commit(_ received: ReceivedMessage) async throws {
        do {
            try await subscriber.commit(received)
        } catch let error as KafkaError where error.code == .partitionRevoked {
            // The partition moved to another member, which replays from the last commit; the
            // replayed events are duplicates there and change nothing.
            logger.info("partition revoked before commit", metadata: ["partition": "\(received.partition)"])
        } catch let error as KafkaError where error.code != .fatal && error.code != .shutDown {
            // A failed commit (e.g. during a rebalance) only means this message may be delivered
            // again, which the version discipline makes harmless: keep consuming.
            logger.warning(
                "offset commit failed",
                metadata: ["partition": "\(received.partition)", "error": "\(error)"]
            )
        }
    }
}
