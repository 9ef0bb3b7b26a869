import Foundation
import Logging
import NIOCore

/// Signs, sends and retries the requests of one service client: throttling, 5xx and broken
/// connections are retried by its policy, other errors are thrown as `AWSError` at once.
struct AWSRequestExecutor: Sendable {
    let signer: SigV4Signer
    let endpoint: AWSEndpoint
    let transport: any AWSTransport
    let retryPolicy: AWSRetryPolicy
    let logger: Logger
    /// The instant a request is signed at; a test may fix it.
    let now: @Sendable () -> Date

    /// Sends `request` (signed anew on every attempt) and returns the first 2xx response.
    func send(
        _ request: AWSHTTPRequest,
        operation: String,
        timeout: Duration
    ) async throws -> AWSHTTPResponse {
        var attempt = 1
        while true {
            var signed = request
            self.signer.sign(&signed, at: self.now())
            let failure: AWSError
            do {
                let response = try await self.transport.send(signed, timeout: timeout)
                if (200..<300).contains(response.status) { return response }
                failure = AWSErrorResponse.error(from: response, operation: operation)
            } catch {
                // A cancelled request is not a failure to retry or report.
                try Task.checkCancellation()
                failure = Self.transportError(error, operation: operation)
            }
            guard self.retryPolicy.shouldRetry(failure, afterAttempt: attempt) else { throw failure }
            try await self.backOff(after: failure, attempt: attempt, operation: operation)
            attempt += 1
        }
    }

    private func backOff(after error: AWSError, attempt: Int, operation: String) async throws {
        let delay = self.retryPolicy.delay(beforeRetry: attempt)
        self.logger.debug(
            "retrying an AWS request",
            metadata: ["operation": "\(operation)", "attempt": "\(attempt)", "delay": "\(delay)", "error": "\(error)"]
        )
        try await Task.sleep(for: delay)
    }

    /// Wraps what the transport threw; a thrown `AWSError` (from a fake) passes through.
    static func transportError(_ error: any Error, operation: String) -> AWSError {
        if let error = error as? AWSError { return error }
        if error is NIOTooManyBytesError {
            return AWSError(code: .invalidResponse, message: "the response is too large", operation: operation)
        }
        return AWSError(code: .transport, message: "\(error)", operation: operation)
    }
}
