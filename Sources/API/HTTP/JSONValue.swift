import Foundation

/// Any JSON value, decoded first so that requests can be checked key by key and type by type
/// (unknown keys and wrong types are 400s with a message naming the key).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// Parses a request body that must be a JSON object.
    static func object(from body: [UInt8]) throws(APIError) -> [String: JSONValue] {
        guard !body.isEmpty else { throw .badRequest("request body must be a JSON object") }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(body))
        } catch {
            throw .badRequest("request body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw .badRequest("request body must be a JSON object, got \(value.typeName)")
        }
        return object
    }
}

/// Typed access to the fields of a request object, with client-facing errors.
struct RequestObject {
    let fields: [String: JSONValue]

    init(_ fields: [String: JSONValue], allowed: Set<String>) throws(APIError) {
        let unknown = fields.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw .badRequest(
                "unknown field\(unknown.count == 1 ? "" : "s") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); allowed: \(allowed.sorted().joined(separator: ", "))"
            )
        }
        self.fields = fields
    }

    func contains(_ key: String) -> Bool { fields[key] != nil }

    func string(_ key: String) throws(APIError) -> String? {
        switch fields[key] {
        case .none, .null?: return nil
        case .string(let value)?: return value
        case let other?: throw .badRequest("\(key) must be a string, got \(other.typeName)")
        }
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        switch fields[key] {
        case .none: return nil
        case .bool(let value)?: return value
        case let other?: throw .badRequest("\(key) must be true or false, got \(other.typeName)")
        }
    }

    /// An array of positive integers of at most `limit` elements (the limit is checked first, so
    /// an oversized array is reported as such whatever it holds).
    func integers(_ key: String, limit: Int) throws(APIError) -> [Int]? {
        switch fields[key] {
        case .none: return nil
        case .array(let values)?:
            guard values.count <= limit else {
                throw .badRequest("at most \(limit) \(key) per request, got \(values.count)")
            }
            var ints: [Int] = []
            ints.reserveCapacity(values.count)
            for value in values {
                guard case .number(let number) = value, number == number.rounded(), number >= 1, number < 1e15 else {
                    throw .badRequest("\(key) must be an array of positive integers")
                }
                ints.append(Int(number))
            }
            return ints
        case let other?: throw .badRequest("\(key) must be an array of integers, got \(other.typeName)")
        }
    }
}
