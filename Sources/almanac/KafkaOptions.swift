import ArgumentParser
import Bus
import Foundation
import Runtime

/// Where the Kafka-compatible broker is, and raw librdkafka settings for SASL/TLS and tuning.
struct KafkaOptions: ParsableArguments {
    @Option(name: .customLong("kafka-brokers"), help: "Bootstrap servers, host:port[,host:port] (env KAFKA_BROKERS).")
    var brokers: String?

    @Option(name: .customLong("kafka-topic"), help: "Topic of the event envelopes (env ALMANAC_KAFKA_TOPIC).")
    var topic: String = ProcessInfo.processInfo.environment["ALMANAC_KAFKA_TOPIC"] ?? "almanac.events"

    @Option(name: .customLong("kafka-group"), help: "Consumer group of the projectors (env ALMANAC_KAFKA_GROUP).")
    var group: String = ProcessInfo.processInfo.environment["ALMANAC_KAFKA_GROUP"] ?? "almanac-projector"

    @Option(
        name: .customLong("kafka-setting"),
        help:
            "Raw librdkafka setting key=value, repeatable, e.g. security.protocol=SASL_SSL (env ALMANAC_KAFKA_SETTINGS, one per line)."
    )
    var settings: [String] = []

    func configuration(clientID: String) throws -> KafkaConfiguration {
        guard let brokers = brokers ?? ProcessInfo.processInfo.environment["KAFKA_BROKERS"], !brokers.isEmpty else {
            throw ValidationError("--kafka-brokers (or KAFKA_BROKERS) is required with the Kafka bus")
        }
        let fromEnvironment = (ProcessInfo.processInfo.environment["ALMANAC_KAFKA_SETTINGS"] ?? "")
            .split(whereSeparator: \.isNewline)
        let extra: [String: String]
        do {
            extra = try KafkaConfiguration.parseSettings(fromEnvironment.map(String.init) + settings)
        } catch {
            throw ValidationError("invalid --kafka-setting: \(error)")
        }
        return KafkaConfiguration(bootstrapServers: brokers, topic: topic, clientID: clientID, extra: extra)
    }

    /// The relay's and the projectors' settings.
    func fanOut() throws -> KafkaFanOut {
        KafkaFanOut(
            relay: try configuration(clientID: "almanac-relay"),
            projector: try configuration(clientID: "almanac-projector"),
            group: group
        )
    }
}

/// The fan-out used by `serve`, `relay` and `project`.
enum BusKind: String, ExpressibleByArgument, CaseIterable {
    /// No bus: the projector tails the event store in-process.
    case none
    case kafka
    /// SNS topic -> SQS queue(s).
    case sns

    /// The bus's settings; nil for none.
    func fanOut(kafka: KafkaOptions, sns: SNSOptions) async throws -> FanOut? {
        switch self {
        case .none: nil
        case .kafka: .kafka(try kafka.fanOut())
        case .sns: .sns(try await sns.fanOut())
        }
    }
}
