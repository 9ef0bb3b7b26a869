import Foundation

/// A queue message that does not carry an Almanac event.
public struct BusMessageDecodingError: Error, Sendable, CustomStringConvertible {
    /// The SQS message id.
    public var messageID: String
    /// What is missing.
    public var reason: String

    public var description: String { "SQS message \(self.messageID) is not an Almanac event: \(self.reason)" }
}

extension SQSMessage {
    /// The Almanac payload: the body itself (raw delivery, or sent straight to SQS), or the
    /// `Message` of the SNS notification envelope the body is.
    public var almanacPayload: String { SNSNotification(body: self.body)?.message ?? self.body }

    /// The bus message this queue message carries, delivered raw or wrapped in an SNS notification.
    ///
    /// The key is the `stream_id` attribute, else the FIFO message group, else the payload's
    /// `stream_id`; the event id is the `event_id` attribute, else the payload's `event_id`.
    public func busMessage() throws -> BusMessage {
        let payload: String
        var attributes: [String: String]
        if let notification = SNSNotification(body: self.body) {
            payload = notification.message
            attributes = notification.attributes
        } else {
            payload = self.body
            attributes = [:]
        }
        // With raw delivery SNS's attributes become the SQS message's own.
        for (name, value) in self.messageAttributes where attributes[name] == nil {
            if let text = value.stringValue { attributes[name] = text }
        }
        let fields = Self.envelopeFields(payload)
        guard let key = attributes[SNSPublisher.streamIDAttribute] ?? self.messageGroupID ?? fields.streamID else {
            throw BusMessageDecodingError(messageID: self.messageID, reason: "no stream_id attribute, group or field")
        }
        guard let eventID = attributes[SNSPublisher.eventIDAttribute] ?? fields.eventID else {
            throw BusMessageDecodingError(messageID: self.messageID, reason: "no event_id attribute or field")
        }
        return BusMessage(key: key, eventID: eventID, payload: Array(payload.utf8))
    }

    /// `stream_id` (a number or a string) and `event_id` of an Almanac JSON envelope, if present.
    private static func envelopeFields(_ payload: String) -> (streamID: String?, eventID: String?) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else {
            return (nil, nil)
        }
        func text(_ value: Any?) -> String? {
            switch value {
            case let string as String: string
            case let integer as Int: String(integer)
            case let number as NSNumber: number.stringValue
            default: nil
            }
        }
        return (text(object["stream_id"]), text(object["event_id"]))
    }
}
