public import Logging

/// librdkafka's in-process mock cluster (a real Kafka protocol implementation), for tests and `almanac dev-kafka`.
///
/// Brokers are numbered 1...brokers; `allBrokers` (-1) addresses all of them. Consumer groups take
/// about 3 s to form on first join (the mock's fixed initial rebalance delay).
public final class KafkaMockCluster: Sendable {
    /// Addresses every broker in `setBrokerDown`, `setBrokerUp` and `setRoundTripTime`.
    public static let allBrokers: Int32 = -1

    private let client: RDKafkaClient
    /// The `bootstrap.servers` list of the mock brokers (localhost listeners).
    public let bootstrapServers: String

    /// Starts a mock cluster with `brokers` brokers.
    public init(brokers: Int = 3, logger: Logger = Logger(label: "almanac.kafka.mock")) throws {
        self.client = try RDKafkaClient.makeMockCluster(brokers: brokers, logger: logger)
        self.bootstrapServers = try self.client.mockBootstrapServers()
    }

    deinit {
        self.client.destroyNow()
    }

    /// Creates a topic (the mock does not support the admin API).
    public func createTopic(_ name: String, partitions: Int32, replicationFactor: Int32 = 1) throws {
        try self.client.mockCreateTopic(name, partitions: partitions, replicationFactor: replicationFactor)
    }

    /// Disconnects a broker and refuses new connections (no leader change).
    public func setBrokerDown(_ id: Int32) throws {
        try self.client.mockSetBroker(id, up: false)
    }

    /// Makes a broker accept connections again.
    public func setBrokerUp(_ id: Int32) throws {
        try self.client.mockSetBroker(id, up: true)
    }

    /// Delays every response of a broker.
    public func setRoundTripTime(broker id: Int32, milliseconds: Int32) throws {
        try self.client.mockSetBrokerRoundTripTime(id, milliseconds: milliseconds)
    }

    /// Makes the next `errors.count` requests of that kind fail, one error each, in order.
    public func failNextRequests(_ request: Request, with errors: [ResponseError]) throws {
        try self.client.mockPushRequestErrors(apiKey: request.apiKey, errors: errors.map(\.code))
    }

    /// Forgets errors pushed with `failNextRequests` that have not fired yet.
    public func clearRequestErrors(_ request: Request) throws {
        try self.client.mockClearRequestErrors(apiKey: request.apiKey)
    }

    /// Destroys the cluster now (deinit does it too); clients connected to it lose their brokers.
    public func shutdown() {
        self.client.destroyNow()
    }
}

extension KafkaMockCluster {
    /// A Kafka protocol request type (ApiKey).
    public struct Request: Sendable, Hashable {
        public let apiKey: Int16
        public init(apiKey: Int16) { self.apiKey = apiKey }

        public static let produce = Request(apiKey: 0)
        public static let fetch = Request(apiKey: 1)
        public static let metadata = Request(apiKey: 3)
        public static let offsetCommit = Request(apiKey: 8)
        public static let findCoordinator = Request(apiKey: 10)
        public static let joinGroup = Request(apiKey: 11)
        public static let heartbeat = Request(apiKey: 12)
        public static let syncGroup = Request(apiKey: 14)
        public static let initProducerID = Request(apiKey: 22)
    }

    /// An error a mock broker answers with (a Kafka protocol error code, or a librdkafka local one).
    public struct ResponseError: Sendable, Hashable {
        public let code: Int32
        public init(code: Int32) { self.code = code }

        /// `NOT_LEADER_OR_FOLLOWER`: retriable, the client refreshes metadata and retries.
        public static let notLeaderForPartition = ResponseError(code: 6)
        /// `REQUEST_TIMED_OUT`: retriable.
        public static let requestTimedOut = ResponseError(code: 7)
        /// `COORDINATOR_NOT_AVAILABLE`: retriable, for group requests.
        public static let coordinatorNotAvailable = ResponseError(code: 15)
        /// `NOT_ENOUGH_REPLICAS`: retriable, the write was not appended.
        public static let notEnoughReplicas = ResponseError(code: 19)
        /// `_TRANSPORT`: the broker drops the connection instead of answering.
        public static let transport = ResponseError(code: -195)
    }
}
