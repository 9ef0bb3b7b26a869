// A deliberately naive reader of rendered bytes, independent of the writer, used to check round trips.

/// Splits `bytes` at CRLF; returns nil when a CR or LF appears outside a CRLF pair or the last line is unterminated.
func physicalLines(_ bytes: [UInt8]) -> [[UInt8]]? {
    var lines: [[UInt8]] = []
    var current: [UInt8] = []
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        if byte == 0x0D {
            guard index + 1 < bytes.count, bytes[index + 1] == 0x0A else { return nil }
            lines.append(current)
            current = []
            index += 2
            continue
        }
        if byte == 0x0A { return nil }
        current.append(byte)
        index += 1
    }
    return current.isEmpty ? lines : nil
}

/// Removes every CRLF followed by one space (RFC 5545 unfolding).
func unfold(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var index = 0
    while index < bytes.count {
        if index + 2 < bytes.count, bytes[index] == 0x0D, bytes[index + 1] == 0x0A, bytes[index + 2] == 0x20 {
            index += 3
            continue
        }
        out.append(bytes[index])
        index += 1
    }
    return out
}

/// Reverses TEXT escaping; `\n` and `\N` become LF. Works on scalars, since a backslash can start a grapheme.
func unescape(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    var escaping = false
    for scalar in text.unicodeScalars {
        if escaping {
            out.append(scalar == "n" || scalar == "N" ? "\n" : scalar)
            escaping = false
        } else if scalar == "\\" {
            escaping = true
        } else {
            out.append(scalar)
        }
    }
    return String(out)
}

/// The unfolded logical lines of a rendering, as strings.
func logicalLines(_ bytes: [UInt8]) -> [String] {
    let unfolded = unfold(bytes)
    return (physicalLines(unfolded) ?? []).map { String(decoding: $0, as: UTF8.self) }
}

/// The value of the first logical line named `name` (without parameters), unescaped.
///
/// Compares bytes, not Characters: a value that starts with a combining mark would merge with the colon.
func textValue(of name: String, in bytes: [UInt8]) -> String? {
    let prefix = Array((name + ":").utf8)
    for line in physicalLines(unfold(bytes)) ?? [] where line.starts(with: prefix) {
        return unescape(String(decoding: line.dropFirst(prefix.count), as: UTF8.self))
    }
    return nil
}

/// What TEXT escaping keeps of `text`: newlines normalized to LF, other controls except TAB removed.
func expectedRoundTrip(_ text: String) -> String {
    var scalars = String.UnicodeScalarView()
    var previousWasCR = false
    for scalar in text.unicodeScalars {
        defer { previousWasCR = scalar == "\r" }
        switch scalar.value {
        case 0x0D:
            scalars.append("\n")
        case 0x0A:
            if !previousWasCR { scalars.append("\n") }
        case 0x09:
            scalars.append(scalar)
        case 0x00..<0x20, 0x7F:
            continue
        default:
            scalars.append(scalar)
        }
    }
    return String(scalars)
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
