/// The VCALENDAR opening that precedes the fragments of a feed.
public struct CalendarHeader: Sendable, Hashable {
    /// Rendered as NAME (RFC 7986) and X-WR-CALNAME (for clients that predate it).
    public var name: String
    /// Rendered as REFRESH-INTERVAL (RFC 7986) and X-PUBLISHED-TTL (for clients that predate it).
    public var refreshInterval: ICalDuration

    /// Creates a header for a feed called `name` that clients should poll every `refreshInterval`.
    public init(name: String, refreshInterval: ICalDuration) {
        self.name = name
        self.refreshInterval = refreshInterval
    }

    /// The header bytes, from BEGIN:VCALENDAR to X-PUBLISHED-TTL; no METHOD, as a subscribed feed is not iTIP.
    public func render() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + 2 * name.utf8.count)
        ContentLine.writeLiteral("BEGIN:VCALENDAR", into: &out)
        ContentLine.writeLiteral("VERSION:2.0", into: &out)
        ContentLine.writeLiteral("PRODID:-//Almanac//Almanac 1.0//EN", into: &out)
        ContentLine.writeLiteral("CALSCALE:GREGORIAN", into: &out)
        ContentLine.writeText(name: "NAME", text: name, into: &out)
        ContentLine.writeText(name: "X-WR-CALNAME", text: name, into: &out)
        out.appendLiteral("REFRESH-INTERVAL;VALUE=DURATION:")
        refreshInterval.write(into: &out)
        out.appendCRLF()
        out.appendLiteral("X-PUBLISHED-TTL:")
        refreshInterval.write(into: &out)
        out.appendCRLF()
        return out
    }
}
