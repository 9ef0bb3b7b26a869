/// A todo's deadline as the client sent it, parsed once and echoed back exactly.
///
/// Accepted forms: `2023-02-27`, `2023-02-27T10:30`, `2023-02-27T10:30:00`, with optional
/// fractional seconds, a space instead of `T`, and an optional `Z` or `±HH:MM`/`±HHMM`/`±HH` offset.
/// A deadline without an offset is wall-clock time in the user's time zone.
public struct Deadline: Sendable, Hashable, Codable {
    /// The exact text the client sent.
    public let raw: String
    public let date: CivilDate
    /// nil for a bare date.
    public let time: LocalTime?
    /// Microseconds after `time` (fractional seconds), kept for ordering only.
    public let fractionMicroseconds: Int
    /// Offset from UTC in seconds when the client gave one; nil means the user's time zone.
    public let utcOffsetSeconds: Int?

    /// Parses `raw`; throws `ValidationError` with a message fit for a client.
    public init(parsing raw: String) throws(ValidationError) {
        var parser = DeadlineParser(raw)
        guard let parsed = parser.parse() else {
            throw ValidationError(
                "deadline_at must be an ISO 8601 date or date-time such as 2023-02-27 or 2023-02-27T00:00:00, got \(raw.debugDescription)"
            )
        }
        // Calendars (RFC 5545) and PostgreSQL both need years 1 to 9999, in UTC too: 0001-01-01
        // with a positive offset falls in year 0, which neither can hold.
        let utcYear = parsed.absoluteInstant?.utc.date.year ?? parsed.date.year
        guard (1...9999).contains(parsed.date.year), (1...9999).contains(utcYear) else {
            throw ValidationError(
                "deadline_at must fall between the years 0001 and 9999 (in UTC too), got \(raw.debugDescription)"
            )
        }
        self = parsed
    }

    init(raw: String, date: CivilDate, time: LocalTime?, fractionMicroseconds: Int, utcOffsetSeconds: Int?) {
        self.raw = raw
        self.date = date
        self.time = time
        self.fractionMicroseconds = fractionMicroseconds
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// A date-only deadline, or one at midnight, is an all-day item on its date.
    public var isAllDay: Bool { time?.isMidnight ?? true }

    /// The instant in UTC when the offset is known (never for a naive deadline).
    public var absoluteInstant: Timestamp? {
        guard let offset = utcOffsetSeconds else { return nil }
        let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(time?.secondsIntoDay ?? 0) - Int64(offset)
        return Timestamp(microseconds: seconds * 1_000_000 + Int64(fractionMicroseconds))
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            self = try Deadline(parsing: text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(raw)
    }

    public static func == (lhs: Deadline, rhs: Deadline) -> Bool { lhs.raw == rhs.raw }
    public func hash(into hasher: inout Hasher) { hasher.combine(raw) }
}

/// A small hand-written scanner: the accepted grammar is narrow and must reject everything else.
private struct DeadlineParser {
    let raw: String
    let bytes: [UInt8]
    var index = 0

    init(_ raw: String) {
        self.raw = raw
        self.bytes = Array(raw.utf8)
    }

    mutating func parse() -> Deadline? {
        guard bytes.count <= 64,
            let year = digits(4), expect(UInt8(ascii: "-")),
            let month = digits(2), expect(UInt8(ascii: "-")),
            let day = digits(2),
            CivilDate.isValid(year: year, month: month, day: day)
        else { return nil }
        let date = CivilDate(year: year, month: month, day: day)
        if atEnd {
            return Deadline(raw: raw, date: date, time: nil, fractionMicroseconds: 0, utcOffsetSeconds: nil)
        }
        guard expect(UInt8(ascii: "T")) || expect(UInt8(ascii: " ")) || expect(UInt8(ascii: "t")),
            let hour = digits(2), hour < 24, expect(UInt8(ascii: ":")),
            let minute = digits(2), minute < 60
        else { return nil }
        var second = 0
        var fraction = 0
        if expect(UInt8(ascii: ":")) {
            guard let s = digits(2), s < 60 else { return nil }
            second = s
            if expect(UInt8(ascii: ".")) || expect(UInt8(ascii: ",")) {
                guard let f = fractionMicros() else { return nil }
                fraction = f
            }
        }
        var offset: Int?
        if !atEnd {
            guard let o = parseOffset(), atEnd else { return nil }
            offset = o
        }
        return Deadline(
            raw: raw,
            date: date,
            time: LocalTime(hour: hour, minute: minute, second: second),
            fractionMicroseconds: fraction,
            utcOffsetSeconds: offset
        )
    }

    var atEnd: Bool { index == bytes.count }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<index + count] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        index += count
        return value
    }

    mutating func fractionMicros() -> Int? {
        var micros = 0
        var count = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            if count < 6 { micros = micros * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
            count += 1
            index += 1
        }
        guard (1...9).contains(count) else { return nil }
        for _ in count..<6 where count < 6 { micros *= 10 }
        return micros
    }

    mutating func parseOffset() -> Int? {
        if expect(UInt8(ascii: "Z")) || expect(UInt8(ascii: "z")) { return 0 }
        let sign: Int
        if expect(UInt8(ascii: "+")) {
            sign = 1
        } else if expect(UInt8(ascii: "-")) {
            sign = -1
        } else {
            return nil
        }
        guard let hours = digits(2), hours <= 23 else { return nil }
        var minutes = 0
        if !atEnd {
            _ = expect(UInt8(ascii: ":"))
            guard let m = digits(2), m < 60 else { return nil }
            minutes = m
        }
        return sign * (hours * 3600 + minutes * 60)
    }
}
