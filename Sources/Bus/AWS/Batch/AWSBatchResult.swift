/// What one batch request did: the ids of the entries accepted and the failures of the others.
public struct AWSBatchResult: Sendable, Hashable {
    /// Ids of the accepted entries.
    public var successful: [String]
    /// The entries the service did not accept.
    public var failed: [AWSBatchFailure]

    /// Creates a result.
    public init(successful: [String] = [], failed: [AWSBatchFailure] = []) {
        self.successful = successful
        self.failed = failed
    }
}
