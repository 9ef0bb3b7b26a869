import Foundation

/// IMF-fixdate (RFC 9110) formatting and parsing for Last-Modified / If-Modified-Since.
enum HTTPDate {
    private static let formatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter
    }()
    private static let lock = NSLock()

    static func string(secondsSinceEpoch seconds: Int64) -> String {
        lock.withLock { formatter.string(from: Date(timeIntervalSince1970: Double(seconds))) }
    }

    static func seconds(from text: String) -> Int64? {
        lock.withLock { formatter.date(from: text).map { Int64($0.timeIntervalSince1970) } }
    }
}
