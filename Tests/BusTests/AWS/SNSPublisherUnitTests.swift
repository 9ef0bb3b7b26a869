import Bus
import Foundation
import NIOHTTP1
import Testing

@Suite("SNS publisher against a scripted endpoint")
struct SNSPublisherUnitTests {
    static let fifoTopic = "arn:aws:sns:us-east-1:123456789012:almanac-events.fifo"

    /// Accepts every entry of every PublishBatch request.
    static func acceptAll(_ request: AWSHTTPRequest, _ number: Int) -> AWSHTTPResponse {
        let form = ScriptedTransport.form(request)
        let ids = (1...10).compactMap { form["PublishBatchRequestEntries.member.\($0).Id"] }
        return .xml(Self.batchResponse(successful: ids, failed: []))
    }

    static func batchResponse(successful: [String], failed: [(id: String, code: String, senderFault: Bool)]) -> String {
        let ok = successful.map { "<member><Id>\($0)</Id><MessageId>m-\($0)</MessageId></member>" }.joined()
        let bad = failed.map {
            "<member><Id>\($0.id)</Id><Code>\($0.code)</Code><Message>failed</Message><SenderFault>\($0.senderFault)</SenderFault></member>"
        }.joined()
        return "<PublishBatchResponse><PublishBatchResult><Successful>\(ok)</Successful><Failed>\(bad)</Failed>"
            + "</PublishBatchResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishBatchResponse>"
    }

    func publisher(_ transport: ScriptedTransport, topic: String = Self.fifoTopic) -> SNSPublisher {
        let client = SNSClient(
            configuration: unitConfiguration,
            transport: transport,
            retryPolicy: fastRetries,
            logger: testLogger
        )
        return SNSPublisher(client: client, topicARN: topic, logger: testLogger)
    }

    @Test("25 messages go out as batches of 10, 10 and 5 with FIFO group, dedup id and attributes")
    func batching() async throws {
        let transport = ScriptedTransport(Self.acceptAll)
        let messages = makeMessages(25, keys: ["alice", "bob"])
        try await self.publisher(transport).publish(messages)

        #expect(transport.requests.count == 3)
        let forms = (0..<3).map { transport.form($0) }
        #expect(forms.map { $0.keys.filter { $0.hasSuffix(".Id") }.count } == [10, 10, 5])
        let first = forms[0]
        #expect(first["Action"] == "PublishBatch")
        #expect(first["Version"] == "2010-03-31")
        #expect(first["TopicArn"] == Self.fifoTopic)
        #expect(
            first["PublishBatchRequestEntries.member.1.Message"] == String(decoding: messages[0].payload, as: UTF8.self)
        )
        #expect(first["PublishBatchRequestEntries.member.1.MessageGroupId"] == "alice")
        #expect(first["PublishBatchRequestEntries.member.2.MessageGroupId"] == "bob")
        #expect(first["PublishBatchRequestEntries.member.1.MessageDeduplicationId"] == "e-0")
        #expect(first["PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Name"] == "event_id")
        #expect(first["PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.DataType"] == "String")
        #expect(first["PublishBatchRequestEntries.member.1.MessageAttributes.entry.1.Value.StringValue"] == "e-0")
        #expect(first["PublishBatchRequestEntries.member.1.MessageAttributes.entry.2.Name"] == "stream_id")
        #expect(first["PublishBatchRequestEntries.member.1.MessageAttributes.entry.2.Value.StringValue"] == "alice")
        #expect(forms[2]["PublishBatchRequestEntries.member.5.MessageDeduplicationId"] == "e-24")
        let request = transport.requests[0]
        #expect(request.headers.first(name: "Content-Type") == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(
            request.headers.first(name: "Authorization")?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDUNIT/") == true
        )
        #expect(request.headers.first(name: "Authorization")?.contains("/us-east-1/sns/aws4_request") == true)
    }

    @Test("a standard topic gets neither group nor deduplication ids")
    func standardTopic() async throws {
        let transport = ScriptedTransport(Self.acceptAll)
        try await self.publisher(transport, topic: "arn:aws:sns:us-east-1:123456789012:almanac-events")
            .publish(makeMessages(3, keys: ["alice"]))
        let form = transport.form(0)
        #expect(!form.keys.contains { $0.contains("MessageGroupId") || $0.contains("MessageDeduplicationId") })
        #expect(form["PublishBatchRequestEntries.member.3.MessageAttributes.entry.1.Value.StringValue"] == "e-2")
    }

    @Test("retryable entry failures are sent again, alone, until accepted")
    func retriesFailedEntries() async throws {
        let transport = ScriptedTransport { request, number in
            let form = ScriptedTransport.form(request)
            let ids = (1...10).compactMap { form["PublishBatchRequestEntries.member.\($0).Id"] }
            switch number {
            case 0:  // entries 3 and 7 fail: the service's fault, then throttling
                return .xml(
                    Self.batchResponse(
                        successful: ids.filter { $0 != "3" && $0 != "7" },
                        failed: [("3", "InternalError", false), ("7", "Throttled", true)]
                    )
                )
            case 1:  // entry 7 fails again
                return .xml(Self.batchResponse(successful: ["3"], failed: [("7", "InternalFailure", false)]))
            default:
                return .xml(Self.batchResponse(successful: ids, failed: []))
            }
        }
        let messages = makeMessages(10, keys: ["alice"])
        try await self.publisher(transport).publish(messages)

        #expect(transport.requests.count == 3)
        let second = transport.form(1)
        #expect(second["PublishBatchRequestEntries.member.1.Id"] == "3")
        #expect(second["PublishBatchRequestEntries.member.1.MessageDeduplicationId"] == "e-3")
        #expect(second["PublishBatchRequestEntries.member.2.Id"] == "7")
        #expect(second["PublishBatchRequestEntries.member.3.Id"] == nil)
        let third = transport.form(2)
        #expect(third["PublishBatchRequestEntries.member.1.Id"] == "7")
        #expect(third["PublishBatchRequestEntries.member.1.MessageDeduplicationId"] == "e-7")
    }

    @Test("an entry that fails for good is reported by event id; later batches are not sent")
    func permanentFailure() async throws {
        let transport = ScriptedTransport { request, _ in
            let form = ScriptedTransport.form(request)
            let ids = (1...10).compactMap { form["PublishBatchRequestEntries.member.\($0).Id"] }
            return .xml(
                Self.batchResponse(successful: ids.filter { $0 != "4" }, failed: [("4", "InvalidParameter", true)])
            )
        }
        let error = await #expect(throws: AWSBatchError.self) {
            try await self.publisher(transport).publish(makeMessages(15, keys: ["alice"]))
        }
        #expect(error?.failures.map(\.key) == ["e-4"])
        #expect(error?.failures.first?.failure.code == "InvalidParameter")
        #expect(transport.requests.count == 1)
    }

    @Test("entries that keep failing retryably give up after the policy's attempts")
    func exhaustedRetries() async throws {
        let transport = ScriptedTransport { _, _ in
            .xml(Self.batchResponse(successful: [], failed: [("0", "InternalError", false)]))
        }
        let error = await #expect(throws: AWSBatchError.self) {
            try await self.publisher(transport).publish(makeMessages(1, keys: ["alice"]))
        }
        #expect(error?.failures.map(\.key) == ["e-0"])
        #expect(transport.requests.count == fastRetries.maxAttempts)
    }

    @Test("a throttled request is retried whole; a rejected one is not")
    func wholeRequestErrors() async throws {
        let throttledOnce = ScriptedTransport { request, number in
            number == 0
                ? .xml(
                    "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>",
                    status: 400
                )
                : Self.acceptAll(request, number)
        }
        try await self.publisher(throttledOnce).publish(makeMessages(2, keys: ["a"]))
        #expect(throttledOnce.requests.count == 2)
        // Each attempt is signed anew.
        #expect(throttledOnce.requests.allSatisfy { $0.headers["Authorization"].count == 1 })

        let missing = ScriptedTransport { _, _ in
            .xml(
                "<ErrorResponse><Error><Code>NotFound</Code><Message>Topic does not exist</Message></Error></ErrorResponse>",
                status: 404
            )
        }
        let error = await #expect(throws: AWSError.self) {
            try await self.publisher(missing).publish(makeMessages(2, keys: ["a"]))
        }
        #expect(error?.code == .notFound)
        #expect(error?.operation == "PublishBatch")
        #expect(missing.requests.count == 1)
    }

    @Test("a payload that is not UTF-8 is refused before anything is sent")
    func binaryPayload() async throws {
        let transport = ScriptedTransport(Self.acceptAll)
        await #expect(throws: AWSError.self) {
            try await self.publisher(transport).publish([BusMessage(key: "k", eventID: "e", payload: [0xFF, 0xFE])])
        }
        #expect(transport.requests.isEmpty)
    }
}
