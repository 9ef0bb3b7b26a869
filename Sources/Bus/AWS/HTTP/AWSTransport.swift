/// Sends signed requests and returns whole responses; `AWSHTTPClient` is the real one, tests may fake it.
public protocol AWSTransport: Sendable {
    /// Sends `request` and returns the response, whatever its status; throws if no response arrived
    /// within `timeout` or the connection failed. Cancelling the task cancels the request.
    func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse
}
