import Hummingbird

/// RFC 9110 conditional GET/HEAD: If-None-Match (lists, `*`, weak comparison) takes precedence
/// over If-Modified-Since.
enum ConditionalRequest {
    static func isNotModified(_ request: Request, etag: String, lastModified: Int64) -> Bool {
        // Each If-None-Match line is a list; several lines are one list (RFC 9110 §5.3). Read in
        // place: the fields' subscript joins the lines into a new string on every poll.
        var conditional = false
        for field in request.headers where field.name == .ifNoneMatch {
            if matches(field.value, etag: etag) { return true }
            conditional = true
        }
        if conditional { return false }
        if let header = request.headers[.ifModifiedSince], let since = HTTPDate.seconds(from: header) {
            return lastModified <= since
        }
        return false
    }

    /// Weak comparison: `W/"x"` matches `"x"`; list members are separated by commas with optional
    /// spaces or tabs around them (RFC 9110 §5.6.1).
    ///
    /// Compared as UTF-8 octets in place: every poll of a feed runs this, and splitting the header
    /// into trimmed strings was half the work of answering a 304.
    static func matches(_ header: String, etag: String) -> Bool {
        let wanted = opaque(etag.utf8[...])
        var rest = header.utf8[...]
        while true {
            let comma = rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
            let tag = trimmed(rest[..<comma])
            if tag.elementsEqual("*".utf8) || opaque(tag).elementsEqual(wanted) { return true }
            guard comma < rest.endIndex else { return false }
            rest = rest[rest.index(after: comma)...]
        }
    }

    private static func opaque(_ tag: Substring.UTF8View) -> Substring.UTF8View {
        tag.starts(with: "W/".utf8) ? tag.dropFirst(2) : tag
    }

    private static func trimmed(_ text: Substring.UTF8View) -> Substring.UTF8View {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = text.firstIndex(where: { !isSpace($0) }), let last = text.lastIndex(where: { !isSpace($0) })
        else { return text[text.endIndex...] }
        return text[first...last]
    }
}
