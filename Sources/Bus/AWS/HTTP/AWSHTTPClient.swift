import AsyncHTTPClient
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// The one HTTP client of the SNS and SQS clients: a pool of keep-alive connections on NIO's shared
/// event loop group.
///
/// It must be shut down: run it as a `Service` (it shuts down on graceful shutdown or cancellation,
/// so list it before its users in a `ServiceGroup`), call `shutdown()`, or use `withClient`.
public final class AWSHTTPClient: AWSTransport, Service {
    private let client: HTTPClient
    private let logger: Logger
    private let maximumResponseBytes: Int
    private let isShutDown = NIOLockedValueBox(false)

    /// Creates the client; `maximumResponseBytes` bounds what one response may hold in memory.
    public init(
        logger: Logger,
        connectTimeout: Duration = .seconds(10),
        maximumConnectionsPerEndpoint: Int = 8,
        maximumResponseBytes: Int = 16 * 1024 * 1024
    ) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(connectTimeout)),
            decompression: .disabled
        )
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = maximumConnectionsPerEndpoint
        configuration.connectionPool.idleTimeout = .seconds(50)
        self.client = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: configuration,
            backgroundActivityLogger: logger
        )
        self.logger = logger
        self.maximumResponseBytes = maximumResponseBytes
    }

    /// Runs `body` with a client that is shut down when `body` returns or throws.
    public static func withClient<Result>(
        logger: Logger,
        _ body: (AWSHTTPClient) async throws -> Result
    ) async throws -> Result {
        let client = AWSHTTPClient(logger: logger)
        let result: Result
        do {
            result = try await body(client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        return result
    }

    /// Sends `request`; throws `AWSError` with code `.clientShutDown` once `shutdown()` was called.
    public func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        guard !self.isShutDown.withLockedValue({ $0 }) else { throw Self.shutDownError }
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        outgoing.headers = request.headers
        if !request.body.isEmpty || request.method == .POST {
            outgoing.body = .bytes(ByteBuffer(bytes: request.body))
        }
        let response: HTTPClientResponse
        do {
            response = try await self.client.execute(outgoing, timeout: TimeAmount(timeout), logger: self.logger)
        } catch let error as HTTPClientError where error == .alreadyShutdown {
            throw Self.shutDownError
        }
        let body = try await response.body.collect(upTo: self.maximumResponseBytes)
        return AWSHTTPResponse(
            status: Int(response.status.code),
            headers: response.headers,
            body: Array(buffer: body)
        )
    }

    private static let shutDownError = AWSError(code: .clientShutDown, message: "the AWS HTTP client was shut down")

    /// Waits for graceful shutdown (or cancellation), then closes every connection.
    public func run() async throws {
        try? await gracefulShutdown()
        try await self.shutdown()
    }

    /// Closes every connection; requests still running fail. Calling it again does nothing.
    public func shutdown() async throws {
        let first = self.isShutDown.withLockedValue { isShutDown in
            defer { isShutDown = true }
            return !isShutDown
        }
        guard first else { return }
        try await self.client.shutdown()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
