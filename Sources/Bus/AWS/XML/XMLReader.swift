/// A small, tolerant XML reader for AWS responses: elements, text, CDATA, the five named entities
/// and numeric character references. It skips the prolog, comments, processing instructions and
/// DOCTYPE, drops namespace prefixes and attributes, and needs no libxml2.
struct XMLReader {
    /// The document is not well formed enough to read.
    struct Malformed: Error, CustomStringConvertible {
        var reason: String
        var offset: Int
        var description: String { "malformed XML at byte \(self.offset): \(self.reason)" }
    }

    private let bytes: [UInt8]
    private var index = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The root element of `bytes`.
    static func parse(_ bytes: [UInt8]) throws -> XMLTree {
        var reader = XMLReader(bytes)
        return try reader.document()
    }

    private mutating func document() throws -> XMLTree {
        while true {
            self.skipWhitespace()
            guard self.index < self.bytes.count else { throw self.malformed("no root element") }
            if self.skipMarkupThatIsNotAnElement() { continue }
            return try self.element()
        }
    }

    /// Skips `<?...?>`, `<!--...-->` and `<!DOCTYPE ...>`; returns whether it skipped something.
    private mutating func skipMarkupThatIsNotAnElement() -> Bool {
        if self.starts(with: "<?") {
            self.skip(past: "?>")
        } else if self.starts(with: "<!--") {
            self.skip(past: "-->")
        } else if self.starts(with: "<!") && !self.starts(with: "<![CDATA[") {
            self.skip(past: ">")
        } else {
            return false
        }
        return true
    }

    private mutating func element() throws -> XMLTree {
        guard self.peek == UInt8(ascii: "<") else { throw self.malformed("expected '<'") }
        self.index += 1
        let qualified = self.name()
        guard !qualified.isEmpty else { throw self.malformed("expected an element name") }
        var element = XMLTree(name: Self.localName(qualified))
        // Attributes are not needed by any AWS response this client reads.
        while let byte = self.peek, byte != UInt8(ascii: ">") {
            if byte == UInt8(ascii: "/") && self.starts(with: "/>") {
                self.index += 2
                return element
            }
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                self.index += 1
                while let inner = self.peek, inner != byte { self.index += 1 }
            }
            self.index += 1
        }
        guard self.peek == UInt8(ascii: ">") else { throw self.malformed("unterminated start tag <\(qualified)>") }
        self.index += 1
        var text: [UInt8] = []
        while true {
            guard let byte = self.peek else { throw self.malformed("unclosed element <\(qualified)>") }
            if byte != UInt8(ascii: "<") {
                try self.appendCharacterData(to: &text)
            } else if self.starts(with: "</") {
                self.index += 2
                let closing = self.name()
                self.skipWhitespace()
                guard closing == qualified, self.peek == UInt8(ascii: ">") else {
                    throw self.malformed("</\(closing)> does not close <\(qualified)>")
                }
                self.index += 1
                element.text = String(decoding: text, as: UTF8.self)
                return element
            } else if self.starts(with: "<![CDATA[") {
                self.index += 9
                let start = self.index
                self.skip(past: "]]>")
                text += self.bytes[start..<max(start, self.index - 3)]
            } else if self.skipMarkupThatIsNotAnElement() {
                continue
            } else {
                element.children.append(try self.element())
            }
        }
    }

    private mutating func appendCharacterData(to text: inout [UInt8]) throws {
        while let byte = self.peek, byte != UInt8(ascii: "<") {
            if byte == UInt8(ascii: "&") {
                text += try self.entity()
            } else {
                text.append(byte)
                self.index += 1
            }
        }
    }

    private mutating func entity() throws -> [UInt8] {
        let start = self.index
        guard let semicolon = self.bytes[start...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
            // Tolerate a bare '&'.
            self.index += 1
            return [UInt8(ascii: "&")]
        }
        let name = String(decoding: self.bytes[(start + 1)..<semicolon], as: UTF8.self)
        self.index = semicolon + 1
        switch name {
        case "amp": return Array("&".utf8)
        case "lt": return Array("<".utf8)
        case "gt": return Array(">".utf8)
        case "quot": return Array("\"".utf8)
        case "apos": return Array("'".utf8)
        default:
            let scalarValue: UInt32?
            if name.hasPrefix("#x") || name.hasPrefix("#X") {
                scalarValue = UInt32(name.dropFirst(2), radix: 16)
            } else if name.hasPrefix("#") {
                scalarValue = UInt32(name.dropFirst())
            } else {
                scalarValue = nil
            }
            guard let scalarValue, let scalar = Unicode.Scalar(scalarValue) else {
                throw Malformed(reason: "unknown entity &\(name);", offset: start)
            }
            return Array(String(Character(scalar)).utf8)
        }
    }

    private mutating func name() -> String {
        let start = self.index
        while let byte = self.peek,
            !(byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/"))
        {
            self.index += 1
        }
        return String(decoding: self.bytes[start..<self.index], as: UTF8.self)
    }

    private static func localName(_ qualified: String) -> String {
        qualified.split(separator: ":").last.map(String.init) ?? qualified
    }

    private var peek: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    private func starts(with prefix: String) -> Bool {
        let utf8 = Array(prefix.utf8)
        return self.bytes.count - self.index >= utf8.count
            && self.bytes[self.index..<(self.index + utf8.count)].elementsEqual(utf8)
    }

    private mutating func skip(past terminator: String) {
        while self.index < self.bytes.count && !self.starts(with: terminator) { self.index += 1 }
        self.index = min(self.bytes.count, self.index + terminator.utf8.count)
    }

    private mutating func skipWhitespace() {
        while let byte = self.peek,
            byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
                || byte == UInt8(ascii: "\r")
        {
            self.index += 1
        }
    }

    private func malformed(_ reason: String) -> Malformed { Malformed(reason: reason, offset: self.index) }
}
