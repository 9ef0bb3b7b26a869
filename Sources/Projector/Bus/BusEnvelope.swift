public import Bus
import Domain
public import EventStore
import Foundation

/// The wire format on the bus: one JSON object per event,
/// `{"event_id", "stream_id", "version", "type", "data", "recorded_at", "position"}`, keyed by
/// the user (stream) id so one user's events stay in order on one partition.
public enum BusEnvelope {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func message(for event: RecordedEvent) -> BusMessage {
        var json = Array("{\"event_id\":\"".utf8)
        json += Array(event.eventID.uuidString.lowercased().utf8)
        json += Array("\",\"stream_id\":\(event.streamID),\"version\":\(event.version),\"type\":\"".utf8)
        json += Array(event.type.utf8)  // type names are plain identifiers
        json += Array("\",\"data\":".utf8)
        json += event.data
        json += Array(",\"recorded_at\":\"\(Timestamp(microseconds: event.recordedAt).iso8601)\"".utf8)
        json += Array(",\"position\":\(event.position)}".utf8)
        return BusMessage(key: String(event.streamID), eventID: event.eventID.uuidString.lowercased(), payload: json)
    }

    private struct Header: Decodable {
        var event_id: UUID
        var stream_id: Int64
        var version: Int64
        var type: String
        var position: Int64?
    }

    /// The recorded event a message carries (payload re-encoded canonically).
    public static func event(from message: BusMessage) throws -> RecordedEvent {
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(message.payload))
        } catch {
            throw Invalid(description: "not an Almanac envelope: \(error)")
        }
        let event = try EventCoding.decode(type: header.type, envelope: message.payload)
        return RecordedEvent(
            position: header.position ?? 0,
            txid: 0,
            streamID: header.stream_id,
            version: header.version,
            eventID: header.event_id,
            type: header.type,
            data: EventCoding.encode(event),
            recordedAt: event.at.microseconds
        )
    }
}
