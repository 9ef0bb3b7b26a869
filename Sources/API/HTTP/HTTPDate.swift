import Domain

/// IMF-fixdate (RFC 9110 §5.6.7) for Last-Modified / If-Modified-Since, computed from the
/// calendar arithmetic of `Timestamp`: no formatter object, no lock on the response path.
enum HTTPDate {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT`: 29 octets written in place (every feed answer, 304s
    /// included, carries one; interpolation cost a tenth of a 304's own work).
    /// Instants outside years 0001-9999 (which four digits cannot write) are clamped to them.
    static func string(secondsSinceEpoch seconds: Int64) -> String {
        let seconds = min(max(seconds, -62_135_596_800), 253_402_300_799)
        let (date, time) = Timestamp(secondsSinceEpoch: seconds).utc
        let weekday = weekdays[((date.daysSinceEpoch % 7) + 7) % 7]
        return String(unsafeUninitializedCapacity: 29) { out in
            var index = 0
            func put(_ byte: UInt8) {
                out[index] = byte
                index += 1
            }
            func put(_ text: String) {
                for byte in text.utf8 { put(byte) }
            }
            func digits(_ value: Int, _ count: Int) {
                var divisor = 1
                for _ in 1..<count { divisor *= 10 }
                while divisor > 0 {
                    put(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                    divisor /= 10
                }
            }
            put(weekday)
            put(", ")
            digits(date.day, 2)
            put(UInt8(ascii: " "))
            put(months[date.month - 1])
            put(UInt8(ascii: " "))
            digits(date.year, 4)
            put(UInt8(ascii: " "))
            digits(time.hour, 2)
            put(UInt8(ascii: ":"))
            digits(time.minute, 2)
            put(UInt8(ascii: ":"))
            digits(time.second, 2)
            put(" GMT")
            return index
        }
    }

    /// Parses an IMF-fixdate; nil for anything else (obsolete formats are ignored, as RFC 9110 allows
    /// a recipient to treat an invalid date as absent).
    static func seconds(from text: String) -> Int64? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0].count == 4, parts[0].hasSuffix(","), parts[5] == "GMT",
            weekdays.contains(String(parts[0].dropLast())),
            parts[1].count == 2, let day = Int(parts[1]),
            let monthIndex = months.firstIndex(of: String(parts[2])),
            parts[3].count == 4, let year = Int(parts[3])
        else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
            let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
            CivilDate.isValid(year: year, month: monthIndex + 1, day: day)
        else { return nil }
        let days = Int64(CivilDate(year: year, month: monthIndex + 1, day: day).daysSinceEpoch)
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }
}
