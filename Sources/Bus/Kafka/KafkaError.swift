/// An error of the Kafka adapter; `code` says what went wrong, `rdKafkaName` what librdkafka reported, if anything.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an open set of codes (new ones may be added).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { self.name }

        /// A setting was rejected by librdkafka or could not be parsed.
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// librdkafka could not create a client or mock cluster.
        public static let clientCreation = Code("clientCreation")
        /// `run()` was called twice.
        public static let alreadyRunning = Code("alreadyRunning")
        /// The operation needs a running service (e.g. a commit before `run()` or after it returned).
        public static let notRunning = Code("notRunning")
        /// The client has shut down; nothing more can be published or committed.
        public static let shutDown = Code("shutDown")
        /// librdkafka refused to enqueue a message (e.g. its local queue is full).
        public static let produceFailed = Code("produceFailed")
        /// The broker did not acknowledge a message (e.g. it timed out after `message.timeout.ms`).
        public static let deliveryFailed = Code("deliveryFailed")
        /// The message's partition is no longer assigned to this group member; its new owner will see it again.
        public static let partitionRevoked = Code("partitionRevoked")
        /// The group coordinator did not answer an offset commit within `commitTimeout`.
        public static let commitTimedOut = Code("commitTimedOut")
        /// An offset commit failed for another reason.
        public static let commitFailed = Code("commitFailed")
        /// Asking a partition's leader for its low and high watermarks failed.
        public static let watermarksFailed = Code("watermarksFailed")
        /// Subscribing to the topic failed.
        public static let subscribeFailed = Code("subscribeFailed")
        /// librdkafka raised a fatal error; the client cannot continue.
        public static let fatal = Code("fatal")
        /// A mock cluster operation failed.
        public static let mockCluster = Code("mockCluster")
    }

    /// What went wrong.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// librdkafka's error code (`rd_kafka_resp_err_t`), when it reported one.
    public var rdKafkaCode: Int32?
    /// librdkafka's name for `rdKafkaCode`, e.g. `_MSG_TIMED_OUT` or `REBALANCE_IN_PROGRESS`.
    public var rdKafkaName: String?

    /// Creates an error.
    public init(code: Code, message: String, rdKafkaCode: Int32? = nil, rdKafkaName: String? = nil) {
        self.code = code
        self.message = message
        self.rdKafkaCode = rdKafkaCode
        self.rdKafkaName = rdKafkaName
    }

    public var description: String {
        if let rdKafkaName {
            return "KafkaError(\(self.code)): \(self.message) [\(rdKafkaName)]"
        }
        return "KafkaError(\(self.code)): \(self.message)"
    }
}
