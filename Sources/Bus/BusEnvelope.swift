import Domain
public import Foundation

/// The wire format on the bus: one JSON object per event,
/// `{"event_id", "stream_id", "version", "type", "data", "recorded_at", "position"}` and, when the
/// event was appended under a recording span, `"trace_context"` (the tracer's propagation fields,
/// e.g. `{"traceparent": "00-…", "tracestate": "…"}`), keyed by the user (stream) id so one user's
/// events stay in order on one partition (or message group). Messages without `trace_context`
/// (older relays, tracing off) decode as before.
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
    /// The trace context of the append that wrote the event; nil when none was recorded.
    public var traceContext: [String: String]?

    public init(
        eventID: UUID,
        streamID: Int64,
        version: Int64,
        type: String,
        data: [UInt8],
        recordedAt: Int64,
        position: Int64,
        traceContext: [String: String]? = nil
    ) {
        self.eventID = eventID
        self.streamID = streamID
        self.version = version
        self.type = type
        self.data = data
        self.recordedAt = recordedAt
        self.position = position
        self.traceContext = traceContext
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
        json += Array(",\"position\":\(position)".utf8)
        if let traceContext, !traceContext.isEmpty {
            json += Array(",\"trace_context\":".utf8)
            json += Self.encode(traceContext)
        }
        json += Array("}".utf8)
        return BusMessage(key: String(streamID), eventID: id, payload: json)
    }

    /// What a consumer that trusts only the event store takes from a message: which stream
    /// moved, and to which version. The events themselves are read from the store.
    public struct Hint: Sendable, Hashable {
        public var streamID: Int64
        public var version: Int64
        /// The envelope's `trace_context`, for a consumer's span to link to (never trusted
        /// beyond that); nil when absent or not an object of strings.
        public var traceContext: [String: String]?

        public init(streamID: Int64, version: Int64, traceContext: [String: String]? = nil) {
            self.streamID = streamID
            self.version = version
            self.traceContext = traceContext
        }

        private struct Fields: Decodable {
            var stream_id: Int64
            var version: Int64
            var trace_context: TraceFields?
        }

        /// The `stream_id`, `version` and `trace_context` of an envelope (nothing else is
        /// decoded); throws `Invalid` for anything else.
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
            self.init(
                streamID: fields.stream_id,
                version: fields.version,
                traceContext: fields.trace_context?.fields
            )
        }
    }

    private struct Header: Decodable {
        var event_id: UUID
        var stream_id: Int64
        var version: Int64
        var type: String
        var position: Int64?
        var trace_context: TraceFields?
    }

    /// A `trace_context` value: kept when it is an object of strings, dropped otherwise (a
    /// malformed trace context never makes a message undecodable).
    private struct TraceFields: Decodable {
        var fields: [String: String]?

        init(from decoder: any Decoder) throws {
            fields = try? decoder.singleValueContainer().decode([String: String].self)
        }
    }

    private static func encode(_ fields: [String: String]) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A [String: String] always encodes.
        return (try? Array(encoder.encode(fields))) ?? Array("{}".utf8)
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
            position: header.position ?? 0,
            traceContext: header.trace_context?.fields
        )
    }
}
