/// Which AWS error codes mean what, gathered from the SNS/SQS models and botocore's retry handler.
enum AWSErrorCodes {
    /// botocore's standard-mode throttling codes, plus SNS's `Throttled` and SQS's prefixed form.
    static let throttling: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", "Throttled", "AWS.SimpleQueueService.RequestThrottled", "KMSThrottlingException",
        "KMS.ThrottlingException",
    ]
    static let serviceUnavailable: Set<String> = ["ServiceUnavailable", "ServiceUnavailableException", "Unavailable"]
    static let internalError: Set<String> = [
        "InternalError", "InternalFailure", "InternalServerError", "InternalErrorException", "InternalFailureException",
        "AWS.SimpleQueueService.InternalError",
    ]
    static let requestTimeout: Set<String> = ["RequestTimeout", "RequestTimeoutException"]
    static let queueDoesNotExist: Set<String> = [
        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NonExistentQueue",
    ]
    static let notFound: Set<String> = ["NotFound", "NotFoundException", "ResourceNotFoundException"]
    static let accessDenied: Set<String> = [
        "AccessDenied", "AccessDeniedException", "AuthorizationError", "InvalidClientTokenId", "SignatureDoesNotMatch",
        "UnrecognizedClientException", "IncompleteSignature", "ExpiredToken", "ExpiredTokenException",
        "InvalidSecurity", "AWS.SimpleQueueService.InvalidSecurity",
    ]
    static let invalidParameter: Set<String> = [
        "InvalidParameter", "InvalidParameterValue", "InvalidParameterValueException", "InvalidParameterException",
        "MissingParameter", "InvalidAttributeName", "InvalidAttributeValue", "InvalidMessageContents",
        "InvalidBatchEntryId", "BatchEntryIdsNotDistinct", "TooManyEntriesInBatchRequest", "EmptyBatchRequest",
        "BatchRequestTooLong", "ValidationError", "ValidationException", "InvalidAddress",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest", "AWS.SimpleQueueService.InvalidBatchEntryId",
    ]
    static let receiptHandleIsInvalid: Set<String> = ["ReceiptHandleIsInvalid", "InvalidReceiptHandle"]

    /// The normalized code of an error; the status decides when the service's code is unknown.
    static func classify(awsCode: String?, httpStatus: Int?) -> AWSError.Code {
        if let awsCode {
            // JSON protocols qualify the shape: `com.amazonaws.sqs#QueueDoesNotExist`.
            let code = awsCode.split(separator: "#").last.map(String.init) ?? awsCode
            let table: [(Set<String>, AWSError.Code)] = [
                (throttling, .throttling), (serviceUnavailable, .serviceUnavailable), (internalError, .internalError),
                (requestTimeout, .requestTimeout), (queueDoesNotExist, .queueDoesNotExist), (notFound, .notFound),
                (accessDenied, .accessDenied), (invalidParameter, .invalidParameter),
                (receiptHandleIsInvalid, .receiptHandleIsInvalid),
            ]
            if let match = table.first(where: { $0.0.contains(code) }) { return match.1 }
        }
        switch httpStatus {
        case 429: return .throttling
        case 503: return .serviceUnavailable
        case .some(500...599): return .internalError
        case 401, 403: return .accessDenied
        case 404: return .notFound
        default: return .other
        }
    }
}
