public import Bus
import EventStore
import Logging
import Projector
import Relay
import ServiceLifecycle

/// A bus that events fan out over: the relay publishes to it, projectors consume from it.
/// Adding a bus means one new case here.
public enum FanOut: Sendable {
    /// A Kafka-compatible broker: one topic keyed by user, projectors in one consumer group.
    case kafka(KafkaFanOut)

    /// The relay and what it publishes with, in start order (the publisher stops last).
    func relayServices(store: EventStore, logger: Logger) throws -> [any Service] {
        switch self {
        case .kafka(let kafka):
            let publisher = try KafkaPublisher(configuration: kafka.relay, logger: logger)
            return [publisher, OutboxRelay(store: store, publisher: publisher)]
        }
    }

    /// A projector fed by the bus and its consumer, in start order.
    func projectorServices(writer: ProjectionWriter, logger: Logger) throws -> [any Service] {
        switch self {
        case .kafka(let kafka):
            let subscriber = try KafkaSubscriber(configuration: kafka.projector, groupID: kafka.group, logger: logger)
            return [subscriber, KafkaProjector(subscriber: subscriber, writer: writer)]
        }
    }
}

/// The Kafka settings of the relay (producer) and of the projectors (consumer group).
public struct KafkaFanOut: Sendable {
    public var relay: KafkaConfiguration
    public var projector: KafkaConfiguration
    public var group: String

    public init(relay: KafkaConfiguration, projector: KafkaConfiguration, group: String) {
        self.relay = relay
        self.projector = projector
        self.group = group
    }
}
