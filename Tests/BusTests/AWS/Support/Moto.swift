import Bus
import Foundation
import Synchronization

/// The moto_server (SNS/SQS emulator) that `scripts/test` starts; integration tests fail without it.
enum Moto {
    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "ALMANAC_TEST_AWS_ENDPOINT is not set: run the tests with scripts/test, which starts moto_server "
                + "(by hand: moto_server -H 127.0.0.1 -p 54340 and ALMANAC_TEST_AWS_ENDPOINT=http://127.0.0.1:54340)"
        }
    }

    /// The endpoint URL, e.g. `http://127.0.0.1:54340`.
    static func endpointURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["ALMANAC_TEST_AWS_ENDPOINT"], !url.isEmpty else {
            throw Missing()
        }
        return url
    }

    /// Dummy credentials (moto does not check signatures) and both services at moto.
    static func configuration() throws -> AWSConfiguration {
        let url = try self.endpointURL()
        guard let endpoint = AWSEndpoint(url: url) else {
            throw AWSConfigurationError("ALMANAC_TEST_AWS_ENDPOINT is not http(s)://host:port: \(url)")
        }
        return AWSConfiguration(
            credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"),
            region: "us-east-1",
            endpointOverrides: [.sns: endpoint, .sqs: endpoint]
        )
    }

    /// Runs `body` with SNS and SQS clients on one HTTP client, shut down afterwards.
    static func withClients<Result>(
        retryPolicy: AWSRetryPolicy = fastRetries,
        _ body: (SNSClient, SQSClient) async throws -> Result
    ) async throws -> Result {
        let configuration = try self.configuration()
        return try await AWSHTTPClient.withClient(logger: testLogger) { http in
            let sns = SNSClient(
                configuration: configuration,
                transport: http,
                retryPolicy: retryPolicy,
                logger: testLogger
            )
            let sqs = SQSClient(
                configuration: configuration,
                transport: http,
                retryPolicy: retryPolicy,
                logger: testLogger
            )
            return try await body(sns, sqs)
        }
    }

    /// A name no other test uses, so tests can run in parallel on one moto.
    static func uniqueName(_ prefix: String, fifo: Bool = false) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(13).lowercased())" + (fifo ? ".fifo" : "")
    }
}

extension SQSClient {
    /// Receives (and deletes) until `count` messages arrived, polling at most `timeout`.
    func drain(queueURL: String, count: Int, timeout: Duration = .seconds(20)) async throws -> [SQSMessage] {
        var received: [SQSMessage] = []
        let deadline = ContinuousClock.now + timeout
        while received.count < count && ContinuousClock.now < deadline {
            let batch = try await self.receiveMessages(queueURL: queueURL, waitTimeSeconds: 1)
            received += batch
            try await self.deleteMessages(queueURL: queueURL, receiptHandles: batch.map(\.receiptHandle))
        }
        return received
    }

    /// The queue's `QueueArn`.
    func queueARN(_ queueURL: String) async throws -> String {
        try await self.getQueueAttributes(queueURL: queueURL, names: ["QueueArn"])["QueueArn"] ?? ""
    }

    /// Messages visible and in flight, as moto counts them.
    func depth(_ queueURL: String) async throws -> Int {
        let attributes = try await self.getQueueAttributes(
            queueURL: queueURL,
            names: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )
        return (Int(attributes["ApproximateNumberOfMessages"] ?? "") ?? 0)
            + (Int(attributes["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0)
    }
}

/// Passes requests on to another transport, counting those under way, so a test can tell when one is in flight.
final class CountingTransport: AWSTransport {
    private let next: any AWSTransport
    private let count = Mutex(0)

    init(_ next: any AWSTransport) { self.next = next }

    var started: Int { self.count.withLock { $0 } }

    func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        self.count.withLock { $0 += 1 }
        return try await self.next.send(request, timeout: timeout)
    }
}
