public import Foundation
public import Logging
import NIOHTTP1

/// A client of Amazon SNS (the Query protocol: form-encoded POSTs, XML answers).
///
/// Cheap to copy; every copy shares `transport`, whose lifetime the caller owns.
public struct SNSClient: Sendable {
    /// The API version every request names.
    static let apiVersion = "2010-03-31"

    let executor: AWSRequestExecutor
    /// How failed entries of `publishBatch` callers such as `SNSPublisher` are retried.
    public let retryPolicy: AWSRetryPolicy
    /// How long one request may take.
    public var requestTimeout: Duration

    /// The endpoint requests go to.
    public var endpoint: AWSEndpoint { self.executor.endpoint }
    /// The region in the signatures.
    public var region: String { self.executor.signer.region }

    /// Creates a client of the SNS endpoint of `configuration`, sending through `transport`.
    public init(
        configuration: AWSConfiguration,
        transport: any AWSTransport,
        retryPolicy: AWSRetryPolicy = .standard,
        requestTimeout: Duration = .seconds(30),
        logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.executor = AWSRequestExecutor(
            signer: SigV4Signer(credentials: configuration.credentials, region: configuration.region, service: "sns"),
            endpoint: configuration.endpoint(for: .sns),
            transport: transport,
            retryPolicy: retryPolicy,
            logger: logger,
            now: now
        )
        self.retryPolicy = retryPolicy
        self.requestTimeout = requestTimeout
    }

    /// Calls `action` with form `parameters` and returns the `<ActionResult>` element (empty if absent).
    func call(_ action: String, _ parameters: [(String, String)]) async throws -> XMLTree {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        let body = AWSPercentEncoding.form([("Action", action), ("Version", Self.apiVersion)] + parameters)
        let request = AWSHTTPRequest(method: .POST, endpoint: self.endpoint, headers: headers, body: Array(body.utf8))
        let response = try await self.executor.send(request, operation: action, timeout: self.requestTimeout)
        let root: XMLTree
        do {
            root = try XMLReader.parse(response.body)
        } catch {
            throw AWSError(
                code: .invalidResponse,
                message: "unreadable XML: \(error)",
                httpStatus: response.status,
                requestID: response.requestID,
                operation: action
            )
        }
        return root.child("\(action)Result") ?? XMLTree(name: "\(action)Result")
    }

    /// `prefix.entry.N.key` / `prefix.entry.N.value` parameters of a Query map.
    static func mapParameters(_ prefix: String, _ map: [String: String]) -> [(String, String)] {
        map.keys.sorted().enumerated().flatMap { index, key in
            [("\(prefix).entry.\(index + 1).key", key), ("\(prefix).entry.\(index + 1).value", map[key]!)]
        }
    }

    /// `prefix.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` (or `.BinaryValue`) parameters.
    static func attributeParameters(_ prefix: String, _ attributes: [String: AWSMessageAttribute]) -> [(String, String)]
    {
        attributes.keys.sorted().enumerated().flatMap { index, name -> [(String, String)] in
            let attribute = attributes[name]!
            let entry = "\(prefix).entry.\(index + 1)"
            var parameters = [("\(entry).Name", name), ("\(entry).Value.DataType", attribute.dataType)]
            if let value = attribute.stringValue { parameters.append(("\(entry).Value.StringValue", value)) }
            if let value = attribute.binaryValue {
                parameters.append(("\(entry).Value.BinaryValue", Data(value).base64EncodedString()))
            }
            return parameters
        }
    }
}
