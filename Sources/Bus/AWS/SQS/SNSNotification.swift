import Foundation

/// The JSON envelope SNS wraps a message in when the subscription does not use raw delivery:
/// `{"Type": "Notification", "MessageId", "TopicArn", "Message", "MessageAttributes": {name: {"Type", "Value"}}, ...}`.
public struct SNSNotification: Sendable, Hashable {
    /// The published message text.
    public var message: String
    /// The SNS message id.
    public var messageID: String?
    /// The topic it was published to.
    public var topicARN: String?
    /// String and Number attributes by name (Binary ones keep their base64 text).
    public var attributes: [String: String]

    private struct Wire: Decodable {
        struct Attribute: Decodable {
            var `Type`: String?
            var Value: String?
        }
        var `Type`: String
        var Message: String
        var MessageId: String?
        var TopicArn: String?
        var MessageAttributes: [String: Attribute]?
    }

    /// The notification `body` holds, or nil if it is not an SNS notification envelope.
    ///
    /// An Almanac envelope is never mistaken for one: its keys are lowercase (`"type"`), SNS's are not.
    public init?(body: String) {
        guard body.utf8.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "{"),
            let wire = try? JSONDecoder().decode(Wire.self, from: Data(body.utf8)), wire.Type == "Notification"
        else { return nil }
        self.message = wire.Message
        self.messageID = wire.MessageId
        self.topicARN = wire.TopicArn
        self.attributes = (wire.MessageAttributes ?? [:]).compactMapValues(\.Value)
    }
}
