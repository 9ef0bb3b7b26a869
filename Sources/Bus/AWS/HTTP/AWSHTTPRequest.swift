public import NIOHTTP1

/// An HTTP request to an AWS endpoint, as the signer and the transport see it.
public struct AWSHTTPRequest: Sendable {
    /// `GET`, `POST`, ...
    public var method: HTTPMethod
    /// Where the request goes.
    public var endpoint: AWSEndpoint
    /// The path as sent on the wire (already percent-encoded), starting with `/`.
    public var path: String
    /// Query parameters, not encoded; the transport and the signer encode them the same way.
    public var query: [QueryParameter]
    /// Headers; the signer adds `Host`, `X-Amz-Date`, `X-Amz-Security-Token` and `Authorization`.
    public var headers: HTTPHeaders
    /// The body bytes.
    public var body: [UInt8]

    /// One `name=value` pair of the query string, before encoding.
    public struct QueryParameter: Sendable, Hashable {
        /// The name, not encoded.
        public var name: String
        /// The value, not encoded.
        public var value: String

        /// Creates a parameter.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Creates a request.
    public init(
        method: HTTPMethod,
        endpoint: AWSEndpoint,
        path: String = "/",
        query: [QueryParameter] = [],
        headers: HTTPHeaders = [:],
        body: [UInt8] = []
    ) {
        self.method = method
        self.endpoint = endpoint
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The query string in SigV4 canonical form (encoded, sorted by name then value), also what is sent.
    public var canonicalQueryString: String {
        self.query
            .map { (AWSPercentEncoding.encode($0.name), AWSPercentEncoding.encode($0.value)) }
            .sorted { left, right in
                left.0 == right.0
                    ? left.1.utf8.lexicographicallyPrecedes(right.1.utf8)
                    : left.0.utf8.lexicographicallyPrecedes(right.0.utf8)
            }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// The full URL the transport sends the request to.
    public var url: String { self.endpoint.url(path: self.path, query: self.canonicalQueryString) }
}
