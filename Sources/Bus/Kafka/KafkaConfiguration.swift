/// Where the Kafka bus is and how to talk to it.
public struct KafkaConfiguration: Sendable {
    /// Comma-separated `host:port` list (`bootstrap.servers`).
    public var bootstrapServers: String
    /// The topic events are published to and consumed from.
    public var topic: String
    /// Identifies this process in broker logs and metrics (`client.id`).
    public var clientID: String
    /// Raw librdkafka `key=value` settings for SASL, TLS and tuning, applied over the defaults.
    ///
    /// The settings the bus relies on for correctness are applied last and cannot be overridden:
    /// `enable.idempotence=true` and `acks=all` for the publisher; `group.id`,
    /// `enable.auto.commit=false` and `enable.auto.offset.store=false` for the subscriber.
    public var extra: [String: String]
    /// How long a blocking poll waits for something to happen before the loop checks for shutdown.
    public var pollTimeout: Duration
    /// How long the publisher's graceful shutdown waits for unacknowledged messages before failing them.
    public var shutdownFlushTimeout: Duration
    /// How long the subscriber's shutdown waits for its consumer to leave the group. After that
    /// the shutdown goes on, and the leaving continues in the background on the consumer's own
    /// thread (the partitions move to other members once it completes, or after
    /// `session.timeout.ms`; uncommitted messages are delivered again).
    public var consumerCloseTimeout: Duration
    /// How long `KafkaSubscriber.commit` waits for the group coordinator to answer before it
    /// throws `commitTimedOut` (the commit may still land later; nothing waits for it).
    public var commitTimeout: Duration
    /// The subscriber stops polling when this many received messages wait in its buffer...
    public var bufferHighWatermark: Int
    /// ...and polls again when fewer than this many are left.
    public var bufferLowWatermark: Int

    /// Creates a configuration with defaults suited to a production cluster.
    public init(
        bootstrapServers: String,
        topic: String,
        clientID: String = "almanac",
        extra: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.topic = topic
        self.clientID = clientID
        self.extra = extra
        self.pollTimeout = .milliseconds(100)
        self.shutdownFlushTimeout = .seconds(10)
        self.commitTimeout = .seconds(10)
        self.consumerCloseTimeout = .seconds(10)
        self.bufferHighWatermark = 1000
        self.bufferLowWatermark = 100
    }

    /// Parses raw settings, one `key=value` per element; blank elements and `#` comments are skipped.
    ///
    /// The value is everything after the first `=`, so `sasl.jaas.config=a=b` keeps `a=b`.
    public static func parseSettings(_ lines: some Sequence<some StringProtocol>) throws -> [String: String] {
        var settings: [String: String] = [:]
        for rawLine in lines {
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw KafkaError(code: .invalidConfiguration, message: "expected key=value, got '\(line)'")
            }
            let key = line[..<equals].trimmingWhitespace()
            let value = line[line.index(after: equals)...].trimmingWhitespace()
            guard !key.isEmpty else {
                throw KafkaError(code: .invalidConfiguration, message: "empty key in '\(line)'")
            }
            settings[String(key)] = String(value)
        }
        return settings
    }
}

extension KafkaConfiguration {
    /// librdkafka settings for the publisher, in the order of precedence described on `extra`.
    func producerSettings() -> [String: String] {
        var settings = [
            "bootstrap.servers": self.bootstrapServers,
            "client.id": self.clientID,
            // Same key hashing as the Java client, so any producer puts a user on the same partition.
            "partitioner": "murmur2_random",
        ]
        settings.merge(self.extra) { _, extra in extra }
        settings["enable.idempotence"] = "true"
        settings["acks"] = "all"
        return settings
    }

    /// librdkafka settings for a subscriber in `groupID`, in the order of precedence described on `extra`.
    func consumerSettings(groupID: String) -> [String: String] {
        var settings = [
            "bootstrap.servers": self.bootstrapServers,
            "client.id": self.clientID,
            "auto.offset.reset": "earliest",
            // Eager rebalancing: every rebalance revokes everything, then assigns anew.
            "partition.assignment.strategy": "range,roundrobin",
        ]
        settings.merge(self.extra) { _, extra in extra }
        settings["group.id"] = groupID
        settings["enable.auto.commit"] = "false"
        settings["enable.auto.offset.store"] = "false"
        return settings
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> Substring {
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
            let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return "" }
        return text[first...last]
    }
}
