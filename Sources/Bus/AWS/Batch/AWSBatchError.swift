/// Some entries of a batch operation failed for good (not retryable, or still failing after the
/// retry policy's attempts); every other entry succeeded.
public struct AWSBatchError: Error, Sendable, CustomStringConvertible {
    /// The operation, e.g. `PublishBatch`.
    public var operation: String
    /// The failures, with the caller's own key of each failed entry (an event id, a receipt handle).
    public var failures: [Failure]

    /// One failed entry.
    public struct Failure: Sendable, Hashable {
        /// The caller's key of the entry.
        public var key: String
        /// What the service said about it the last time.
        public var failure: AWSBatchFailure

        /// Creates a failure.
        public init(key: String, failure: AWSBatchFailure) {
            self.key = key
            self.failure = failure
        }
    }

    /// Creates an error.
    public init(operation: String, failures: [Failure]) {
        self.operation = operation
        self.failures = failures
    }

    public var description: String {
        let shown = self.failures.prefix(5).map { "\($0.key): \($0.failure.code): \($0.failure.message)" }
        let more = self.failures.count > 5 ? " and \(self.failures.count - 5) more" : ""
        return "AWSBatchError: \(self.failures.count) entries of \(self.operation) failed: "
            + shown.joined(separator: "; ") + more
    }
}
