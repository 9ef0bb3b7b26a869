import Foundation

/// JSON coding of `TodoEvent` payloads: `type` names the payload, and the payload carries `"v"`,
/// its schema version, so that old events stay readable after a payload changes.
public enum EventCoding {
    /// The schema version written for every payload type today.
    public static let currentVersion = 1

    public struct UnknownEvent: Error, CustomStringConvertible {
        public let type: String
        public var description: String { "unknown event type \(type)" }
    }

    public struct UnsupportedVersion: Error, CustomStringConvertible {
        public let type: String
        public let version: Int
        public var description: String { "event \(type) has schema version \(version), newer than \(currentVersion)" }
    }

    /// The JSON payload of `event`, keys sorted so equal events give equal bytes.
    public static func encode(_ event: TodoEvent) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            switch event {
            case .userRegistered(let p): return Array(try encoder.encode(Versioned(p)))
            case .timeZoneChanged(let p): return Array(try encoder.encode(Versioned(p)))
            case .todoCreated(let p): return Array(try encoder.encode(Versioned(p)))
            case .todoUpdated(let p): return Array(try encoder.encode(Versioned(p)))
            case .todoCompleted(let p), .todoReopened(let p), .todoDeleted(let p):
                return Array(try encoder.encode(Versioned(p)))
            case .todosCompleted(let p): return Array(try encoder.encode(Versioned(p)))
            }
        } catch {
            // Every payload is made of strings, integers and booleans: encoding cannot fail.
            preconditionFailure("event payload failed to encode: \(error)")
        }
    }

    /// Decodes a stored payload of the given type.
    public static func decode(type: String, data: some Collection<UInt8>) throws -> TodoEvent {
        try decode(type: type, bytes: Data(data), nested: false)
    }

    /// Decodes the payload found under the `data` key of a JSON object (a bus envelope).
    public static func decode(type: String, envelope: some Collection<UInt8>) throws -> TodoEvent {
        try decode(type: type, bytes: Data(envelope), nested: true)
    }

    private static func decode(type: String, bytes: Data, nested: Bool) throws -> TodoEvent {
        let decoder = JSONDecoder()
        func payload<P: Codable>(_: P.Type) throws -> P {
            let versioned =
                nested
                ? try decoder.decode(Nested<P>.self, from: bytes).data
                : try decoder.decode(Versioned<P>.self, from: bytes)
            guard versioned.version <= currentVersion else {
                throw UnsupportedVersion(type: type, version: versioned.version)
            }
            return versioned.payload
        }
        switch type {
        case "UserRegistered": return .userRegistered(try payload(UserRegistered.self))
        case "TimeZoneChanged": return .timeZoneChanged(try payload(TimeZoneChanged.self))
        case "TodoCreated": return .todoCreated(try payload(TodoCreated.self))
        case "TodoUpdated": return .todoUpdated(try payload(TodoUpdated.self))
        case "TodoCompleted": return .todoCompleted(try payload(TodoChange.self))
        case "TodoReopened": return .todoReopened(try payload(TodoChange.self))
        case "TodoDeleted": return .todoDeleted(try payload(TodoChange.self))
        case "TodosCompleted": return .todosCompleted(try payload(TodosCompleted.self))
        default: throw UnknownEvent(type: type)
        }
    }
}

/// A payload plus its schema version, flattened into one JSON object.
private struct Versioned<Payload: Codable>: Codable {
    var version: Int
    var payload: Payload

    init(_ payload: Payload) {
        self.version = EventCoding.currentVersion
        self.payload = payload
    }

    enum Key: String, CodingKey { case v }

    init(from decoder: any Decoder) throws {
        version = try decoder.container(keyedBy: Key.self).decodeIfPresent(Int.self, forKey: .v) ?? 1
        payload = try Payload(from: decoder)
    }

    func encode(to encoder: any Encoder) throws {
        try payload.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(version, forKey: .v)
    }
}

/// An object holding a versioned payload under `data`.
private struct Nested<Payload: Codable>: Decodable {
    var data: Versioned<Payload>
}
