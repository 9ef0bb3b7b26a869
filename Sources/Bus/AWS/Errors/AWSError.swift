/// An error from an AWS service or from reaching it.
///
/// `code` is a normalized, open set of kinds (a queue that does not exist is `.queueDoesNotExist` whether
/// SQS said `AWS.SimpleQueueService.NonExistentQueue` or `QueueDoesNotExist`); `awsCode` keeps the
/// service's own word.
public struct AWSError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as an open set of codes (new ones may be added).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { self.name }

        /// The SQS queue does not exist (`AWS.SimpleQueueService.NonExistentQueue`, `QueueDoesNotExist`).
        public static let queueDoesNotExist = Code("queueDoesNotExist")
        /// The SNS topic, subscription or endpoint does not exist (`NotFound`).
        public static let notFound = Code("notFound")
        /// The request was throttled (`Throttling`, `ThrottlingException`, `RequestThrottled`, HTTP 429, ...).
        public static let throttling = Code("throttling")
        /// The service is unavailable (`ServiceUnavailable`, HTTP 503).
        public static let serviceUnavailable = Code("serviceUnavailable")
        /// The service failed internally (`InternalError`, `InternalFailure`, other HTTP 5xx).
        public static let internalError = Code("internalError")
        /// The request timed out on the service's side (`RequestTimeout`).
        public static let requestTimeout = Code("requestTimeout")
        /// The credentials were rejected or lack a permission.
        public static let accessDenied = Code("accessDenied")
        /// A parameter was invalid or missing.
        public static let invalidParameter = Code("invalidParameter")
        /// A receipt handle was invalid or expired.
        public static let receiptHandleIsInvalid = Code("receiptHandleIsInvalid")
        /// Another error the service reported (see `awsCode`).
        public static let other = Code("other")
        /// The service could not be reached, or the connection broke, or the request timed out locally.
        public static let transport = Code("transport")
        /// The service answered with something this client cannot read.
        public static let invalidResponse = Code("invalidResponse")
        /// The HTTP client was shut down; nothing more can be sent through it.
        public static let clientShutDown = Code("clientShutDown")
    }

    /// What went wrong.
    public var code: Code
    /// The service's error code, e.g. `AWS.SimpleQueueService.NonExistentQueue`; nil for transport errors.
    public var awsCode: String?
    /// A human-readable explanation.
    public var message: String
    /// The HTTP status, when the service answered.
    public var httpStatus: Int?
    /// AWS's id of the failed request, for a support case.
    public var requestID: String?
    /// The operation that failed, e.g. `SendMessage`.
    public var operation: String?

    /// Creates an error whose `code` is derived from `awsCode` and `httpStatus`.
    public init(
        awsCode: String?,
        message: String,
        httpStatus: Int?,
        requestID: String? = nil,
        operation: String? = nil
    ) {
        self.init(
            code: AWSErrorCodes.classify(awsCode: awsCode, httpStatus: httpStatus),
            awsCode: awsCode,
            message: message,
            httpStatus: httpStatus,
            requestID: requestID,
            operation: operation
        )
    }

    /// Creates an error with an explicit code.
    public init(
        code: Code,
        awsCode: String? = nil,
        message: String,
        httpStatus: Int? = nil,
        requestID: String? = nil,
        operation: String? = nil
    ) {
        self.code = code
        self.awsCode = awsCode
        self.message = message
        self.httpStatus = httpStatus
        self.requestID = requestID
        self.operation = operation
    }

    /// Whether trying again later may succeed: throttling, 5xx, timeouts and broken connections.
    public var isRetryable: Bool {
        switch self.code {
        case .throttling, .serviceUnavailable, .internalError, .requestTimeout, .transport: true
        default: (self.httpStatus ?? 0) >= 500
        }
    }

    public var description: String {
        var text = "AWSError(\(self.code))"
        if let operation { text += " in \(operation)" }
        text += ": "
        if let awsCode { text += "\(awsCode): " }
        text += self.message
        if let httpStatus { text += " [HTTP \(httpStatus)]" }
        if let requestID { text += " [request \(requestID)]" }
        return text
    }
}
