/// A calendar date, rendered as VALUE=DATE (yyyyMMdd).
public struct ICalDate: Sendable, Hashable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Creates a date; fields are not validated here (the Domain does that) but are clamped when rendered.
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func < (lhs: ICalDate, rhs: ICalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// The `yyyyMMdd` form.
    public var rendered: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // Clamping keeps the output a syntactically valid RFC 5545 date even for data the Domain should have rejected.
    func write(into out: inout [UInt8]) {
        out.appendScratch(capacity: Self.octets) { write(into: &$0) }
    }

    /// The octets of the `yyyyMMdd` form.
    static let octets = 8

    func write(into out: inout ScratchBytes) {
        out.appendFourDigits(year.clamped(to: 0...9999))
        out.appendTwoDigits(month.clamped(to: 1...12))
        out.appendTwoDigits(day.clamped(to: 1...31))
    }
}

/// A UTC date-time, rendered as yyyyMMddTHHmmssZ.
public struct ICalDateTime: Sendable, Hashable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int

    /// Creates a UTC date-time; fields are clamped to their ranges when rendered.
    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
    }

    public static func < (lhs: ICalDateTime, rhs: ICalDateTime) -> Bool {
        if (lhs.year, lhs.month, lhs.day) != (rhs.year, rhs.month, rhs.day) {
            return (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
        }
        return (lhs.hour, lhs.minute, lhs.second) < (rhs.hour, rhs.minute, rhs.second)
    }

    /// The `yyyyMMddTHHmmssZ` form.
    public var rendered: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    func write(into out: inout [UInt8]) {
        out.appendScratch(capacity: Self.octets) { write(into: &$0) }
    }

    /// The octets of the `yyyyMMddTHHmmssZ` form.
    static let octets = 16

    func write(into out: inout ScratchBytes) {
        out.appendFourDigits(year.clamped(to: 0...9999))
        out.appendTwoDigits(month.clamped(to: 1...12))
        out.appendTwoDigits(day.clamped(to: 1...31))
        out.append(0x54)  // T
        out.appendTwoDigits(hour.clamped(to: 0...23))
        out.appendTwoDigits(minute.clamped(to: 0...59))
        // 60 is a legal leap second in RFC 5545.
        out.appendTwoDigits(second.clamped(to: 0...60))
        out.append(0x5A)  // Z
    }
}

extension Int {
    @inline(__always)
    func clamped(to range: ClosedRange<Int>) -> Int {
        Swift.min(Swift.max(self, range.lowerBound), range.upperBound)
    }
}
