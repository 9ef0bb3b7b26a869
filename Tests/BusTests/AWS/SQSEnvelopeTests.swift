import Bus
import Foundation
import Testing

@Suite("Almanac payloads in SQS bodies")
struct SQSEnvelopeTests {
    static let payload =
        #"{"event_id":"6f1c0a57-0000-4000-8000-000000000001","stream_id":42,"version":7,"type":"todoCreated","data":{"title":"Grüße 👋"},"recorded_at":"2026-01-01T00:00:00Z","position":99}"#

    @Test("a raw body with attributes (raw delivery from SNS)")
    func raw() throws {
        let message = SQSMessage(
            messageID: "m1",
            receiptHandle: "r1",
            body: Self.payload,
            attributes: ["MessageGroupId": "42"],
            messageAttributes: [
                "event_id": .string("6f1c0a57-0000-4000-8000-000000000001"), "stream_id": .string("42"),
            ]
        )
        #expect(message.almanacPayload == Self.payload)
        let bus = try message.busMessage()
        #expect(
            bus
                == BusMessage(
                    key: "42",
                    eventID: "6f1c0a57-0000-4000-8000-000000000001",
                    payload: Array(Self.payload.utf8)
                )
        )
    }

    @Test("a raw body without attributes falls back to the envelope's own fields")
    func rawWithoutAttributes() throws {
        let bus = try SQSMessage(messageID: "m", receiptHandle: "r", body: Self.payload).busMessage()
        #expect(bus.key == "42")
        #expect(bus.eventID == "6f1c0a57-0000-4000-8000-000000000001")
        #expect(bus.payload == Array(Self.payload.utf8))
    }

    @Test("a body wrapped in SNS's notification envelope, attributes from the envelope")
    func wrapped() throws {
        let escaped = Self.payload.replacingOccurrences(of: "\"", with: "\\\"")
        let body = """
            {
              "Type" : "Notification",
              "MessageId" : "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
              "SequenceNumber" : "10000000000000000001",
              "TopicArn" : "arn:aws:sns:us-east-1:123456789012:almanac-events.fifo",
              "Message" : "\(escaped)",
              "Timestamp" : "2026-01-01T00:00:00.000Z",
              "UnsubscribeURL" : "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
              "MessageAttributes" : {
                "event_id" : {"Type":"String","Value":"from-attribute"},
                "stream_id" : {"Type":"String","Value":"42"}
              }
            }
            """
        let message = SQSMessage(messageID: "m2", receiptHandle: "r2", body: body)
        #expect(message.almanacPayload == Self.payload)
        let notification = try #require(SNSNotification(body: body))
        #expect(notification.topicARN == "arn:aws:sns:us-east-1:123456789012:almanac-events.fifo")
        let bus = try message.busMessage()
        #expect(bus.key == "42")
        #expect(bus.eventID == "from-attribute")
        #expect(bus.payload == Array(Self.payload.utf8))
    }

    @Test("a wrapped body without attributes uses the payload's fields")
    func wrappedWithoutAttributes() throws {
        let escaped = Self.payload.replacingOccurrences(of: "\"", with: "\\\"")
        let body = #"{"Type":"Notification","MessageId":"x","TopicArn":"t","Message":"\#(escaped)"}"#
        let bus = try SQSMessage(messageID: "m", receiptHandle: "r", body: body).busMessage()
        #expect(bus.key == "42")
        #expect(bus.eventID == "6f1c0a57-0000-4000-8000-000000000001")
    }

    @Test(
        "bodies that are not notifications stay as they are",
        arguments: [
            "plain text", #"{"type":"Notification","Message":"lowercase keys are Almanac's"}"#,
            #"{"Type":"SubscriptionConfirmation","Message":"confirm"}"#, "{not json", "",
        ]
    )
    func notNotifications(_ body: String) {
        #expect(SNSNotification(body: body) == nil)
        #expect(SQSMessage(messageID: "m", receiptHandle: "r", body: body).almanacPayload == body)
    }

    @Test("a message with no event id anywhere is an error")
    func missingEventID() {
        #expect(throws: BusMessageDecodingError.self) {
            try SQSMessage(messageID: "m", receiptHandle: "r", body: #"{"stream_id":1}"#).busMessage()
        }
    }
}
