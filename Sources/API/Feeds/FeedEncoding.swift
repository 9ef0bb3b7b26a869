import HTTPTypes

/// The content coding of a feed answer: identity, or gzip for clients that accept it (RFC 9110,
/// 12.5.3 and 8.4.1). Each is its own representation, with its own ETag.
enum FeedEncoding: Sendable, Hashable {
    case identity
    case gzip

    /// gzip when `Accept-Encoding` gives it (or `x-gzip`, or else `*`) a weight above 0;
    /// identity otherwise, and for anything unparsable.
    init(accepting headers: HTTPFields) {
        let values = headers[values: .acceptEncoding]
        self = values.isEmpty ? .identity : Self(acceptEncoding: values.joined(separator: ","))
    }

    init(acceptEncoding header: String) {
        var gzip: Double?
        var any: Double?
        for member in header.split(separator: ",") {
            var fields = member.split(separator: ";").makeIterator()
            guard let coding = fields.next()?.trimmed.lowercased(), !coding.isEmpty else { continue }
            var weight = 1.0
            while let parameter = fields.next() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2, pair[0].trimmed.lowercased() == "q" else { continue }
                weight = Self.qvalue(pair[1].trimmed) ?? 0
            }
            switch coding {
            case "gzip", "x-gzip": gzip = max(gzip ?? 0, weight)
            case "*": any = max(any ?? 0, weight)
            default: break
            }
        }
        self = (gzip ?? any ?? 0) > 0 ? .gzip : .identity
    }

    /// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`; nil when malformed.
    static func qvalue(_ text: Substring) -> Double? {
        guard let first = text.first, first == "0" || first == "1" else { return nil }
        let rest = text.dropFirst()
        if !rest.isEmpty {
            guard rest.first == ".", rest.count <= 4, rest.dropFirst().allSatisfy(\.isASCIIDigit) else { return nil }
        }
        guard let value = Double(text), value <= 1 else { return nil }
        return value
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isWholeNumber }
}

extension Substring {
    fileprivate var trimmed: Substring {
        let start = firstIndex { $0 != " " && $0 != "\t" } ?? endIndex
        let end = lastIndex { $0 != " " && $0 != "\t" }.map(index(after:)) ?? start
        return self[start..<end]
    }
}
