/// The VCALENDAR closing that follows the fragments of a feed.
public enum CalendarFooter {
    /// `END:VCALENDAR` with CRLF.
    public static let bytes: [UInt8] = Array("END:VCALENDAR\r\n".utf8)
}
