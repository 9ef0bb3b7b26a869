public import Foundation
public import Logging
import NIOHTTP1

/// A client of Amazon SQS over the AWS JSON 1.0 protocol (`X-Amz-Target: AmazonSQS.<Action>`), the
/// one current SDKs use.
///
/// Cheap to copy; every copy shares `transport`, whose lifetime the caller owns.
public struct SQSClient: Sendable {
    let executor: AWSRequestExecutor
    /// How failed entries of the multi-batch helpers (`sendMessages`, `deleteMessages`) are retried.
    public let retryPolicy: AWSRetryPolicy
    /// How long one request may take; a long poll gets its wait time on top.
    public var requestTimeout: Duration

    /// The endpoint requests go to.
    public var endpoint: AWSEndpoint { self.executor.endpoint }
    /// The region in the signatures.
    public var region: String { self.executor.signer.region }

    /// Creates a client of the SQS endpoint of `configuration`, sending through `transport`.
    public init(
        configuration: AWSConfiguration,
        transport: any AWSTransport,
        retryPolicy: AWSRetryPolicy = .standard,
        requestTimeout: Duration = .seconds(30),
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.executor = AWSRequestExecutor(
            signer: SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "sqs"),
            endpoint: configuration.endpoint(for: .sqs),
            transport: transport,
            retryPolicy: retryPolicy,
            logger: logger,
            now: now
        )
        self.retryPolicy = retryPolicy
        self.requestTimeout = requestTimeout
    }

    /// Calls `action` with a JSON body and decodes the JSON answer.
    func call<Output: Decodable>(
        _ action: String,
        _ input: some Encodable,
        as output: Output.Type,
        timeout: Duration? = nil
    ) async throws -> Output {
        let response = try await self.send(action, input, timeout: timeout)
        do {
            // Actions without output answer `{}` or nothing at all.
            let body = response.body.isEmpty ? Array("{}".utf8) : response.body
            return try JSONDecoder().decode(Output.self, from: Data(body))
        } catch {
            throw AWSError(
                code: .invalidResponse,
                message: "unreadable JSON: \(error)",
                httpStatus: response.status,
                requestID: response.requestID,
                operation: action
            )
        }
    }

    /// Calls an action whose answer carries nothing of interest.
    func call(_ action: String, _ input: some Encodable) async throws {
        _ = try await self.send(action, input, timeout: nil)
    }

    private func send(_ action: String, _ input: some Encodable, timeout: Duration?) async throws -> AWSHTTPResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-amz-json-1.0")
        headers.add(name: "X-Amz-Target", value: "AmazonSQS.\(action)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let body = try encoder.encode(input)
        let request = AWSHTTPRequest(method: .POST, endpoint: self.endpoint, headers: headers, body: Array(body))
        return try await self.executor.send(request, operation: action, timeout: timeout ?? self.requestTimeout)
    }
}
