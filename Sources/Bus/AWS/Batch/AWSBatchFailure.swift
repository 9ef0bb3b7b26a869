/// One entry of a batch request that the service did not accept.
public struct AWSBatchFailure: Sendable, Hashable, CustomStringConvertible {
    /// The entry's id within its batch request.
    public var id: String
    /// The service's error code, e.g. `ReceiptHandleIsInvalid` or `InternalError`.
    public var code: String
    /// The service's explanation.
    public var message: String
    /// Whether the service blames the request (a retry will fail the same way).
    public var senderFault: Bool

    /// Creates a failure.
    public init(id: String, code: String, message: String, senderFault: Bool) {
        self.id = id
        self.code = code
        self.message = message
        self.senderFault = senderFault
    }

    /// Whether the entry may succeed if sent again: the service's fault, or throttling.
    public var isRetryable: Bool {
        !self.senderFault || AWSErrorCodes.classify(awsCode: self.code, httpStatus: nil) == .throttling
    }

    public var description: String {
        "entry \(self.id): \(self.code): \(self.message)\(self.senderFault ? " (sender fault)" : "")"
    }
}
