/// One content line (`name;param=value:value`), written folded and terminated with CRLF.
public struct ContentLine: Sendable, Hashable {
    public var name: String
    public var parameters: [Parameter]
    /// Already escaped (TEXT) or raw (other value types); never escaped again.
    public var value: String

    /// A property parameter such as `VALUE=DATE`.
    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var value: String

        /// Creates a parameter; the value is quoted when it holds `;`, `:` or `,`.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Creates a content line from an already-escaped or raw value.
    public init(name: String, parameters: [Parameter] = [], value: String) {
        self.name = name
        self.parameters = parameters
        self.value = value
    }

    /// Appends this line, folded, with CRLF.
    public func write(into out: inout [UInt8]) {
        Self.write(name: name, parameters: parameters.map { ($0.name, $0.value) }, value: value, into: &out)
    }

    /// Appends one folded content line with CRLF; `value` is written as given except that control characters
    /// other than TAB are dropped, so a raw value can never break the line structure.
    public static func write(
        name: String,
        parameters: [(String, String)] = [],
        value: String,
        into out: inout [UInt8]
    ) {
        let start = out.count
        appendRaw(name, into: &out)
        for (parameterName, parameterValue) in parameters {
            out.append(0x3B)  // ;
            appendRaw(parameterName, into: &out)
            out.append(0x3D)  // =
            appendParameterValue(parameterValue, into: &out)
        }
        out.append(0x3A)  // :
        appendRaw(value, into: &out)
        Folding.foldLine(from: start, in: &out)
        out.appendCRLF()
    }

    /// Appends `NAME:` + the TEXT-escaped `text` (after an optional literal prefix), folded, with CRLF.
    /// With a non-empty `domain`, the text is `text@domain` (both escaped).
    static func writeText(
        name: StaticString,
        prefix: StaticString = "",
        text: String,
        domain: String = "",
        into out: inout [UInt8]
    ) {
        let start = out.count
        out.appendScratch(capacity: shortLine) { line in
            line.appendLiteral(name)
            line.append(0x3A)
            line.appendLiteral(prefix)
        }
        TextValue.appendEscaped(text, into: &out)
        if !domain.isEmpty {
            out.append(0x40)  // @
            TextValue.appendEscaped(domain, into: &out)
        }
        Folding.foldLine(from: start, in: &out)
        out.appendCRLF()
    }

    /// The octets of a line that needs no folding, with its CRLF: the fixed lines below are
    /// assembled in that much stack memory and appended in one copy (a longer one traps).
    static let shortLine = Folding.maxOctets + 2

    /// Appends a line whose whole text is a literal known to be shorter than 75 octets.
    @inline(__always)
    static func writeLiteral(_ text: StaticString, into out: inout [UInt8]) {
        out.appendScratch(capacity: shortLine) { line in
            line.appendLiteral(text)
            line.appendCRLF()
        }
    }

    /// Appends `NAME:yyyyMMddTHHmmssZ`; `name` plus the value must stay under 75 octets, so no folding.
    static func writeDateTime(name: StaticString, _ value: ICalDateTime, into out: inout [UInt8]) {
        out.appendScratch(capacity: shortLine) { line in
            line.appendLiteral(name)
            line.append(0x3A)
            value.write(into: &line)
            line.appendCRLF()
        }
    }

    /// Appends `NAME;VALUE=DATE:yyyyMMdd`; `name` must be short enough that no folding is needed.
    static func writeDate(name: StaticString, _ value: ICalDate, into out: inout [UInt8]) {
        out.appendScratch(capacity: shortLine) { line in
            line.appendLiteral(name)
            line.appendLiteral(";VALUE=DATE:")
            value.write(into: &line)
            line.appendCRLF()
        }
    }

    /// Appends `NAME:<integer>`; `name` must leave room for 20 octets of digits.
    static func writeInteger(name: StaticString, _ value: Int, into out: inout [UInt8]) {
        out.appendScratch(capacity: shortLine) { line in
            line.appendLiteral(name)
            line.append(0x3A)
            line.appendDecimal(value)
            line.appendCRLF()
        }
    }

    private static func appendRaw(_ text: String, into out: inout [UInt8]) {
        for byte in text.utf8 where byte >= 0x20 && byte != 0x7F || byte == 0x09 {
            out.append(byte)
        }
    }

    // param-value is paramtext or a quoted-string; DQUOTE cannot appear in either, so it is dropped.
    private static func appendParameterValue(_ text: String, into out: inout [UInt8]) {
        let needsQuotes = text.utf8.contains { $0 == 0x3B || $0 == 0x3A || $0 == 0x2C }
        if needsQuotes { out.append(0x22) }
        for byte in text.utf8 where byte >= 0x20 && byte != 0x7F && byte != 0x22 || byte == 0x09 {
            out.append(byte)
        }
        if needsQuotes { out.append(0x22) }
    }
}
