import Bus
import NIOHTTP1
import Testing

@testable import Bus

@Suite("AWS errors and retry policy")
struct AWSErrorTests {
    @Test(
        "service codes map to typed codes",
        arguments: [
            ("AWS.SimpleQueueService.NonExistentQueue", 400, AWSError.Code.queueDoesNotExist, false),
            ("QueueDoesNotExist", 400, .queueDoesNotExist, false),
            ("com.amazonaws.sqs#QueueDoesNotExist", 400, .queueDoesNotExist, false),
            ("NotFound", 404, .notFound, false),
            ("Throttling", 400, .throttling, true),
            ("ThrottlingException", 400, .throttling, true),
            ("RequestThrottled", 403, .throttling, true),
            ("Throttled", 429, .throttling, true),
            ("ServiceUnavailable", 503, .serviceUnavailable, true),
            ("InternalError", 500, .internalError, true),
            ("InternalFailure", 500, .internalError, true),
            ("ReceiptHandleIsInvalid", 400, .receiptHandleIsInvalid, false),
            ("InvalidParameter", 400, .invalidParameter, false),
            ("AccessDenied", 403, .accessDenied, false),
            ("SomethingNew", 400, .other, false),
            ("SomethingNew", 502, .internalError, true),
        ]
    )
    func mapping(awsCode: String, status: Int, code: AWSError.Code, retryable: Bool) {
        let error = AWSError(awsCode: awsCode, message: "m", httpStatus: status)
        #expect(error.code == code)
        #expect(error.isRetryable == retryable)
    }

    @Test("JSON errors: the query-compatible header wins, the shape name is the fallback")
    func jsonError() {
        var headers = HTTPHeaders()
        headers.add(name: "x-amzn-query-error", value: "AWS.SimpleQueueService.NonExistentQueue;Sender")
        headers.add(name: "x-amzn-RequestId", value: "req-1")
        let body =
            #"{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."}"#
        let error = AWSErrorResponse.error(from: .json(body, status: 400, headers: headers), operation: "GetQueueUrl")
        #expect(error.code == .queueDoesNotExist)
        #expect(error.awsCode == "AWS.SimpleQueueService.NonExistentQueue")
        #expect(error.message == "The specified queue does not exist.")
        #expect(error.httpStatus == 400)
        #expect(error.requestID == "req-1")
        #expect(error.operation == "GetQueueUrl")

        let bare = AWSErrorResponse.error(from: .json(body, status: 400), operation: "GetQueueUrl")
        #expect(bare.awsCode == "QueueDoesNotExist")
        #expect(bare.code == .queueDoesNotExist)
    }

    @Test("XML errors carry code, message and request id")
    func xmlError() {
        let body = """
            <?xml version="1.0"?>
            <ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type>\
            <Code>NotFound</Code><Message>Topic does not exist &amp; never did</Message></Error>\
            <RequestId>abc-123</RequestId></ErrorResponse>
            """
        let error = AWSErrorResponse.error(from: .xml(body, status: 404), operation: "Publish")
        #expect(error.code == .notFound)
        #expect(error.awsCode == "NotFound")
        #expect(error.message == "Topic does not exist & never did")
        #expect(error.requestID == "abc-123")
        #expect(!error.isRetryable)
    }

    @Test("an unreadable error body still gives a typed error from the status")
    func opaqueError() {
        let error = AWSErrorResponse.error(
            from: AWSHTTPResponse(status: 503, body: Array("<html>busy".utf8)),
            operation: "Publish"
        )
        #expect(error.code == .serviceUnavailable)
        #expect(error.isRetryable)
    }

    @Test("full jitter stays within the doubling cap, and the cap stops at maxDelay")
    func backoff() {
        let policy = AWSRetryPolicy(maxAttempts: 8, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(policy.delayCap(beforeRetry: 1) == .milliseconds(100))
        #expect(policy.delayCap(beforeRetry: 2) == .milliseconds(200))
        #expect(policy.delayCap(beforeRetry: 4) == .milliseconds(800))
        #expect(policy.delayCap(beforeRetry: 5) == .seconds(1))
        #expect(policy.delayCap(beforeRetry: 60) == .seconds(1))
        var generator = SplitMix64(seed: 7)
        let delays = (0..<500).map { _ in policy.delay(beforeRetry: 3, using: &generator) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(400) })
        // Jitter spreads the delays over the whole range rather than clustering at the cap.
        #expect(delays.contains { $0 < .milliseconds(100) })
        #expect(delays.contains { $0 > .milliseconds(300) })
    }

    @Test("retry only retryable errors, and only while attempts remain")
    func retryDecision() {
        let policy = AWSRetryPolicy(maxAttempts: 3)
        let throttled = AWSError(awsCode: "Throttling", message: "", httpStatus: 400)
        let missing = AWSError(awsCode: "QueueDoesNotExist", message: "", httpStatus: 400)
        #expect(policy.shouldRetry(throttled, afterAttempt: 1))
        #expect(policy.shouldRetry(throttled, afterAttempt: 2))
        #expect(!policy.shouldRetry(throttled, afterAttempt: 3))
        #expect(!policy.shouldRetry(missing, afterAttempt: 1))
        #expect(!policy.shouldRetry(CancellationError(), afterAttempt: 1))
        #expect(!AWSRetryPolicy.never.shouldRetry(throttled, afterAttempt: 1))
    }

    @Test("batch entry failures: the service's fault and throttling are retryable, sender faults are not")
    func batchFailures() {
        #expect(AWSBatchFailure(id: "0", code: "InternalError", message: "", senderFault: false).isRetryable)
        #expect(AWSBatchFailure(id: "0", code: "RequestThrottled", message: "", senderFault: true).isRetryable)
        #expect(!AWSBatchFailure(id: "0", code: "ReceiptHandleIsInvalid", message: "", senderFault: true).isRetryable)
    }
}

/// A deterministic generator for jitter tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
