import Domain
public import Foundation

/// The wire format on the bus: one JSON object per event,
/// `{"event_id", "stream_id", "version", "type", "data", "recorded_at", "position"}`, keyed by
/// the user (stream) id so one user's events stay in order on one partition (or message group).
public struct BusEnvelope: Sendable, Hashable {
    public var eventID: UUID
    public var streamID: Int64
    public var version: Int64
    public var type: String
    /// The event's JSON payload, canonically encoded.
    public var data: [UInt8]
    /// Microseconds since the epoch.
    public var recordedAt: Int64
    /// The event's place in the global log (0 when the sender did not say).
    public var position: Int64

    public init(
        eventID: UUID,
        streamID: Int64,
        version: Int64,
        type: String,
        data: [UInt8],
        recordedAt: Int64,
        position: Int64
    ) {
        self.eventID = eventID
        self.streamID = streamID
        self.version = version
        self.type = type
        self.data = data
        self.recordedAt = recordedAt
        self.position = position
    }

    /// A message that is not an Almanac envelope.
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// The message carrying this envelope.
    public var message: BusMessage {
        let id = eventID.uuidString.lowercased()
        var json = Array("{\"event_id\":\"".utf8)
        json += Array(id.utf8)
        json += Array("\",\"stream_id\":\(streamID),\"version\":\(version),\"type\":\"".utf8)
        json += Array(type.utf8)  // type names are plain identifiers
        json += Array("\",\"data\":".utf8)
        json += data
        json += Array(",\"recorded_at\":\"\(Timestamp(microseconds: recordedAt).iso8601)\"".utf8)
        json += Array(",\"position\":\(position)}".utf8)
        return BusMessage(key: String(streamID), eventID: id, payload: json)
    }

    /// What a consumer that trusts only the event store takes from a message: which stream
    /// moved, and to which version. The events themselves are read from the store.
    public struct Hint: Sendable, Hashable {
        public var streamID: Int64
        public var version: Int64

        public init(streamID: Int64, version: Int64) {
            self.streamID = streamID
            self.version = version
        }

        private struct Fields: Decodable {
            var stream_id: Int64
            var version: Int64
        }

        /// The `stream_id` and `version` of an envelope (nothing else is decoded); throws
        /// `Invalid` for anything else.
        public init(decoding message: BusMessage) throws {
            let fields: Fields
            do {
                fields = try JSONDecoder().decode(Fields.self, from: Data(message.payload))
            } catch {
                throw Invalid(description: "not an Almanac envelope: \(error)")
            }
            guard fields.version > 0 else {
                throw Invalid(description: "version \(fields.version) is not a stream version")
            }
            self.init(streamID: fields.stream_id, version: fields.version)
        }
    }

    private struct Header: Decodable {
        var event_id: UUID
        var stream_id: Int64
        var version: Int64
        var type: String
        var position: Int64?
    }

    /// The envelope a message carries (payload decoded and re-encoded canonically); throws
    /// `Invalid` for anything else.
    public init(decoding message: BusMessage) throws {
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(message.payload))
        } catch {
            throw Invalid(description: "not an Almanac envelope: \(error)")
        }
        let event = try EventCoding.decode(type: header.type, envelope: message.payload)
        self.init(
            eventID: header.event_id,
            streamID: header.stream_id,
            version: header.version,
            type: header.type,
            data: EventCoding.encode(event),
            recordedAt: event.at.microseconds,
            position: header.position ?? 0
        )
    }
}
