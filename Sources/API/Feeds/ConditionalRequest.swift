import Foundation
import Hummingbird

/// RFC 9110 conditional GET/HEAD: If-None-Match (lists, `*`, weak comparison) takes precedence
/// over If-Modified-Since.
enum ConditionalRequest {
    static func isNotModified(_ request: Request, etag: String, lastModified: Int64) -> Bool {
        if let header = request.headers[.ifNoneMatch] {
            return matches(header, etag: etag)
        }
        if let header = request.headers[.ifModifiedSince], let since = HTTPDate.seconds(from: header) {
            return lastModified <= since
        }
        return false
    }

    /// Weak comparison: `W/"x"` matches `"x"`.
    static func matches(_ header: String, etag: String) -> Bool {
        let wanted = opaque(etag)
        for candidate in header.split(separator: ",") {
            let tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" || opaque(tag) == wanted { return true }
        }
        return false
    }

    private static func opaque(_ tag: String) -> String {
        tag.hasPrefix("W/") ? String(tag.dropFirst(2)) : tag
    }
}
