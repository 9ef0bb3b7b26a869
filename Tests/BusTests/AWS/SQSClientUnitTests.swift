import Bus
import Foundation
import NIOHTTP1
import Synchronization
import Testing

@Suite("SQS client against a scripted endpoint")
struct SQSClientUnitTests {
    static let queueURL = "http://sqs.test:1/123456789012/q"

    func client(_ transport: ScriptedTransport, timeout: Duration = .seconds(30)) -> SQSClient {
        SQSClient(
            configuration: unitConfiguration,
            transport: transport,
            retryPolicy: fastRetries,
            requestTimeout: timeout,
            logger: testLogger
        )
    }

    static func json(_ request: AWSHTTPRequest) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any]) ?? [:]
    }

    @Test("requests use AWS JSON 1.0 with X-Amz-Target; a missing queue is a typed error and not retried")
    func missingQueue() async throws {
        let transport = ScriptedTransport { _, _ in
            var headers = HTTPHeaders()
            headers.add(name: "x-amzn-query-error", value: "AWS.SimpleQueueService.NonExistentQueue;Sender")
            return .json(
                #"{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."}"#,
                status: 400,
                headers: headers
            )
        }
        let error = await #expect(throws: AWSError.self) { try await self.client(transport).getQueueURL(name: "nope") }
        #expect(error?.code == .queueDoesNotExist)
        #expect(error?.awsCode == "AWS.SimpleQueueService.NonExistentQueue")
        #expect(transport.requests.count == 1)
        let request = transport.requests[0]
        #expect(request.method == .POST)
        #expect(request.path == "/")
        #expect(request.headers.first(name: "X-Amz-Target") == "AmazonSQS.GetQueueUrl")
        #expect(request.headers.first(name: "Content-Type") == "application/x-amz-json-1.0")
        #expect(request.headers.first(name: "Host") == "sqs.test:1")
        #expect(
            request.headers.first(name: "Authorization")?.contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-target"
            ) == true
        )
        #expect(Self.json(request)["QueueName"] as? String == "nope")
    }

    @Test("5xx and throttling are retried with backoff until success")
    func retries() async throws {
        let transport = ScriptedTransport { _, number in
            switch number {
            case 0: .json(#"{"__type":"com.amazonaws.sqs#InternalError","message":"boom"}"#, status: 500)
            case 1: .json(#"{"__type":"com.amazonaws.sqs#RequestThrottled","message":"slow down"}"#, status: 400)
            default: .json(#"{"QueueUrl":"\#(Self.queueURL)"}"#)
            }
        }
        #expect(try await self.client(transport).getQueueURL(name: "q") == Self.queueURL)
        #expect(transport.requests.count == 3)
    }

    @Test("a connection failure is retried, and reported as a transport error when it persists")
    func transportFailures() async throws {
        struct Refused: Error {}
        let transport = ScriptedTransport { _, _ in throw Refused() }
        let error = await #expect(throws: AWSError.self) { try await self.client(transport).getQueueURL(name: "q") }
        #expect(error?.code == .transport)
        #expect(transport.requests.count == fastRetries.maxAttempts)
    }

    @Test("receive asks for attributes, bounds its parameters, and allows the wait time on top of the timeout")
    func receive() async throws {
        let transport = ScriptedTransport { _, _ in
            .json(
                #"{"Messages":[{"MessageId":"m1","ReceiptHandle":"h1","MD5OfBody":"x","Body":"hello","Attributes":{"ApproximateReceiveCount":"2","SentTimestamp":"1700000000123","MessageGroupId":"g"},"MessageAttributes":{"client":{"DataType":"String","StringValue":"alice"},"blob":{"DataType":"Binary","BinaryValue":"AAE="}}}]}"#
            )
        }
        let messages = try await self.client(transport, timeout: .seconds(5))
            .receiveMessages(queueURL: Self.queueURL, maxMessages: 50, waitTimeSeconds: 60)
        let body = Self.json(transport.requests[0])
        #expect(body["MaxNumberOfMessages"] as? Int == 10)
        #expect(body["WaitTimeSeconds"] as? Int == 20)
        #expect(body["MessageSystemAttributeNames"] as? [String] == ["All"])
        #expect(body["MessageAttributeNames"] as? [String] == ["All"])
        #expect(transport.timeouts == [.seconds(25)])
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.body == "hello")
        #expect(message.receiptHandle == "h1")
        #expect(message.receiveCount == 2)
        #expect(message.sentTimestampMilliseconds == 1_700_000_000_123)
        #expect(message.messageGroupID == "g")
        #expect(message.stringAttribute("client") == "alice")
        #expect(message.messageAttributes["blob"]?.binaryValue == [0, 1])
    }

    @Test("an empty receive is an empty array")
    func emptyReceive() async throws {
        let transport = ScriptedTransport { _, _ in .json("{}") }
        #expect(try await self.client(transport).receiveMessages(queueURL: Self.queueURL).isEmpty)
    }

    @Test("deleteMessages retries retryable entries and reports the rest by receipt handle")
    func deletePartialFailure() async throws {
        let transport = ScriptedTransport { request, number in
            let entries = (Self.json(request)["Entries"] as? [[String: Any]]) ?? []
            let ids = entries.compactMap { $0["Id"] as? String }
            if number == 0 {
                return .json(
                    #"{"Successful":[{"Id":"0"}],"Failed":[{"Id":"1","SenderFault":true,"Code":"ReceiptHandleIsInvalid","Message":"bad"},{"Id":"2","SenderFault":false,"Code":"InternalError","Message":"try again"}]}"#
                )
            }
            let successful = ids.map { #"{"Id":"\#($0)"}"# }.joined(separator: ",")
            return .json(#"{"Successful":[\#(successful)],"Failed":[]}"#)
        }
        let error = await #expect(throws: AWSBatchError.self) {
            try await self.client(transport).deleteMessages(
                queueURL: Self.queueURL,
                receiptHandles: ["h0", "bogus", "h2"]
            )
        }
        #expect(error?.failures.map(\.key) == ["bogus"])
        #expect(error?.failures.first?.failure.code == "ReceiptHandleIsInvalid")
        #expect(transport.requests.count == 2)
        let retried = (Self.json(transport.requests[1])["Entries"] as? [[String: Any]]) ?? []
        #expect(retried.map { $0["ReceiptHandle"] as? String } == ["h2"])
        #expect(
            transport.requests.allSatisfy { $0.headers.first(name: "X-Amz-Target") == "AmazonSQS.DeleteMessageBatch" }
        )
    }

    @Test("sendMessages splits into batches of 10 with FIFO fields and attributes")
    func sendBatches() async throws {
        let transport = ScriptedTransport { request, _ in
            let entries = (Self.json(request)["Entries"] as? [[String: Any]]) ?? []
            let successful = entries.map { #"{"Id":"\#($0["Id"]!)","MessageId":"x","MD5OfMessageBody":"y"}"# }
            return .json(#"{"Successful":[\#(successful.joined(separator: ","))]}"#)
        }
        let entries = (0..<23).map {
            SQSSendEntry(body: "Message \($0)", attributes: ["client": .string("c")], messageGroupID: "default")
        }
        try await self.client(transport).sendMessages(queueURL: Self.queueURL, entries)
        #expect(transport.requests.count == 3)
        let first = (Self.json(transport.requests[0])["Entries"] as? [[String: Any]]) ?? []
        #expect(first.count == 10)
        #expect(first[0]["MessageBody"] as? String == "Message 0")
        #expect(first[0]["MessageGroupId"] as? String == "default")
        #expect(
            (first[0]["MessageAttributes"] as? [String: [String: String]])?["client"] == [
                "DataType": "String", "StringValue": "c",
            ]
        )
    }

    @Test("cancelling a long poll ends it at once and is not retried")
    func cancellation() async throws {
        let transport = SlowTransport()
        let client = SQSClient(
            configuration: unitConfiguration,
            transport: transport,
            retryPolicy: fastRetries,
            logger: testLogger
        )
        let poll = Task { try await client.receiveMessages(queueURL: Self.queueURL) }
        try await eventually { transport.started > 0 }
        poll.cancel()
        await #expect(throws: CancellationError.self) { try await poll.value }
        #expect(transport.started == 1)
    }
}

/// Never answers until cancelled.
final class SlowTransport: AWSTransport {
    private let count = Mutex(0)
    var started: Int { self.count.withLock { $0 } }

    func send(_ request: AWSHTTPRequest, timeout: Duration) async throws -> AWSHTTPResponse {
        self.count.withLock { $0 += 1 }
        // Stalls the fake transport: 60 s outlasts any test, so only cancellation ends the request.
        try await Task.sleep(for: .seconds(60))
        return AWSHTTPResponse(status: 200)
    }
}
