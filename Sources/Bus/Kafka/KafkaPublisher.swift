public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle

/// Publishes bus messages to one Kafka topic with an idempotent producer (`acks=all`).
///
/// `run()` must be running for `publish` to return: it serves the delivery reports. On graceful
/// shutdown it stops polling, flushes for up to `shutdownFlushTimeout`, fails whatever was not
/// acknowledged by then, and destroys the producer.
public final class KafkaPublisher: EventPublisher, Service {
    private let configuration: KafkaConfiguration
    private let logger: Logger
    private let client: RDKafkaClient
    private let state: NIOLockedValueBox<PublisherStateMachine>

    /// Creates the producer; fails if librdkafka rejects a setting.
    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        var logger = logger
        logger[metadataKey: "kafka.topic"] = "\(configuration.topic)"
        let state = NIOLockedValueBox(PublisherStateMachine())
        self.client = try RDKafkaClient.makeProducer(settings: configuration.producerSettings(), logger: logger) {
            event in
            guard case .delivered(let batchID, let error) = event else { return }
            Self.execute(state.withLockedValue { $0.delivered(batchID: batchID, error: error) })
        }
        self.configuration = configuration
        self.logger = logger
        self.state = state
    }

    /// Publishes `messages` in order (per key) and returns once the broker acknowledged all of them.
    ///
    /// Throws the first delivery failure (e.g. `_MSG_TIMED_OUT` after `message.timeout.ms`) once every
    /// message of the batch is settled; some of the others may have been delivered. While the brokers
    /// are unreachable it keeps waiting, because librdkafka retries until `message.timeout.ms`.
    /// Not cancellable: messages handed to librdkafka cannot be recalled.
    public func publish(_ messages: [BusMessage]) async throws {
        guard !messages.isEmpty else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            switch self.state.withLockedValue({ $0.startBatch(count: messages.count, continuation: continuation) }) {
            case .fail(let continuation, let error):
                continuation.resume(throwing: error)
            case .produce(let batchID):
                self.produce(messages, batchID: batchID)
            }
        }
    }

    private func produce(_ messages: [BusMessage], batchID: UInt64) {
        for (index, message) in messages.enumerated() {
            do {
                try self.client.produce(message, topic: self.configuration.topic, batchID: batchID)
            } catch {
                let failure = error as? KafkaError ?? KafkaError(code: .produceFailed, message: "\(error)")
                let unproduced = messages.count - index
                Self.execute(
                    self.state.withLockedValue {
                        $0.produceFailed(batchID: batchID, unproduced: unproduced, error: failure)
                    }
                )
                return
            }
        }
    }

    /// How many published batches wait for their delivery reports now.
    var pendingBatchCount: Int { self.state.withLockedValue { $0.pendingBatchCount } }

    /// Serves delivery reports until graceful shutdown or cancellation, then flushes and destroys the producer.
    public func run() async throws {
        try self.state.withLockedValue { try $0.run() }
        await withGracefulShutdownHandler {
            while !Task.isCancelled, self.state.withLockedValue({ $0.shouldPoll }) {
                do {
                    try await self.client.poll(timeout: self.configuration.pollTimeout)
                } catch {
                    self.logger.error("polling the producer failed", metadata: ["error": "\(error)"])
                    return
                }
            }
        } onGracefulShutdown: {
            self.state.withLockedValue { $0.beginShutdown() }
            self.client.wakeUp()
        }
        await self.shutDown(flushTimeout: Task.isCancelled ? .zero : self.configuration.shutdownFlushTimeout)
    }

    private func shutDown(flushTimeout: Duration) async {
        self.state.withLockedValue { $0.beginShutdown() }
        let flushed = (try? await self.client.flush(timeout: flushTimeout)) ?? false
        if !flushed {
            self.logger.warning("shut down with unacknowledged messages", metadata: ["timeout": "\(flushTimeout)"])
        }
        await self.client.close()
        let orphans = self.state.withLockedValue { $0.finish() }
        for continuation in orphans {
            continuation.resume(throwing: KafkaError(code: .shutDown, message: "the publisher shut down first"))
        }
    }

    private static func execute(_ action: PublisherStateMachine.CompletionAction) {
        switch action {
        case .none:
            break
        case .resume(let continuation, nil):
            continuation.resume()
        case .resume(let continuation, let error?):
            continuation.resume(throwing: error)
        }
    }
}
