import Metrics

/// `almanac_bus_consumer_errors_total{bus, operation}`: failures of a bus projector's consumer
/// calls (each is retried or redelivered; a rising rate means a sick broker or queue).
enum ConsumerMetrics {
    enum Bus: String {
        case kafka
        case sqs
    }

    enum Operation: String {
        /// A Kafka offset commit that failed (the message may be delivered again).
        case commit
        /// An SQS receive (long poll) that failed.
        case receive
        /// An SQS delete of applied messages that failed (they return after the visibility timeout).
        case delete
        /// An SQS visibility extension of a batch being applied that failed.
        case extendVisibility = "extend_visibility"
        /// A projection transaction of a received batch that failed (retried).
        case project
    }

    static func counter(_ bus: Bus, _ operation: Operation) -> Counter {
        Counter(
            label: "almanac_bus_consumer_errors_total",
            dimensions: [("bus", bus.rawValue), ("operation", operation.rawValue)]
        )
    }

    static func failed(_ bus: Bus, _ operation: Operation) {
        counter(bus, operation).increment()
    }

    /// Creates a bus's series, so they are exported (at 0) before the first failure.
    static func register(_ bus: Bus, _ operations: [Operation]) {
        for operation in operations { _ = counter(bus, operation) }
    }
}
