/// An instant in UTC with microsecond precision, stored in events so that folds never read a clock.
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    public init(secondsSinceEpoch seconds: Int64) {
        self.microseconds = seconds * 1_000_000
    }

    public var secondsSinceEpoch: Int64 {
        microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
    }

    /// The UTC calendar date and time of day (seconds precision).
    public var utc: (date: CivilDate, time: LocalTime) {
        let seconds = secondsSinceEpoch
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = Int(seconds - days * 86_400)
        return (
            CivilDate(daysSinceEpoch: Int(days)),
            LocalTime(hour: rest / 3600, minute: rest / 60 % 60, second: rest % 60)
        )
    }

    /// ISO 8601 in UTC with microseconds, e.g. `2026-11-22T03:57:38.123456Z`.
    public var iso8601: String {
        let (date, time) = utc
        let micros = Int(microseconds - secondsSinceEpoch * 1_000_000)
        return "\(pad(date.year, 4))-\(pad(date.month, 2))-\(pad(date.day, 2))T"
            + "\(pad(time.hour, 2)):\(pad(time.minute, 2)):\(pad(time.second, 2)).\(pad(micros, 6))Z"
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microseconds < rhs.microseconds
    }

    public init(from decoder: any Decoder) throws {
        microseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(microseconds)
    }
}

/// Zero-pads a non-negative number to `width` digits.
func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
