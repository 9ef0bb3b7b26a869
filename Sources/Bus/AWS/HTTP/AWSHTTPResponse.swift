public import NIOHTTP1

/// A complete HTTP response from an AWS endpoint.
public struct AWSHTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The headers.
    public var headers: HTTPHeaders
    /// The whole body.
    public var body: [UInt8]

    /// Creates a response (the transport does; tests and fakes may too).
    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The request id AWS assigned, from `x-amzn-RequestId` or `x-amz-request-id`.
    public var requestID: String? {
        self.headers.first(name: "x-amzn-requestid") ?? self.headers.first(name: "x-amz-request-id")
    }
}
