import Bus
import Foundation
import NIOHTTP1
import Synchronization

/// A transport that answers from a script and records every request, for unit tests of the clients.
final class ScriptedTransport: AWSTransport {
    typealias Answer = @Sendable (AWSHTTPRequest, Int) throws -> AWSHTTPResponse
    private let state: Mutex<(requests: [AWSHTTPRequest], timeouts: [Duration], answer: Answer)>

    /// `answer` gets each request and its 0-based number.
    init(_ answer: @escaping Answer) {
        self.state = Mutex(([], [], answer))
    }

    var requests: [AWSHTTPRequest] { self.state.withLock { $0.requests } }
    var timeouts: [Duration] { self.state.withLock { $0.timeouts } }

    /// The decoded form body (SNS) of request `index`.
    func form(_ index: Int) -> [String: String] {
        Self.form(self.requests[index])
    }

    static func form(_ request: AWSHTTPRequest) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).removingPercentEncoding ?? String($0)
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        let (answer, number) = self.state.withLock { state in
            state.requests.append(request)
            state.timeouts.append(timeout)
            return (state.answer, state.requests.count - 1)
        }
        return try answer(request, number)
    }
}

extension AWSHTTPResponse {
    static func xml(_ text: String, status: Int = 200) -> AWSHTTPResponse {
        AWSHTTPResponse(status: status, headers: ["Content-Type": "text/xml"], body: Array(text.utf8))
    }

    static func json(_ text: String, status: Int = 200, headers: HTTPHeaders = [:]) -> AWSHTTPResponse {
        var all = headers
        all.add(name: "Content-Type", value: "application/x-amz-json-1.0")
        return AWSHTTPResponse(status: status, headers: all, body: Array(text.utf8))
    }
}

/// Quick retries for unit tests.
let fastRetries = AWSRetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(1), maxDelay: .milliseconds(5))

let unitConfiguration = AWSConfiguration(
    credentials: AWSCredentials(accessKeyID: "AKIDUNIT", secretAccessKey: "unit-secret"),
    region: "us-east-1",
    endpointOverrides: [.sns: AWSEndpoint(url: "http://sns.test:1")!, .sqs: AWSEndpoint(url: "http://sqs.test:1")!]
)
