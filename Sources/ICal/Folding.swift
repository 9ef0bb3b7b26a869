/// RFC 5545 line folding (section 3.1): at most 75 octets per physical line, continuation lines start with a space.
enum Folding {
    /// The longest physical line, in octets, not counting CRLF.
    static let maxOctets = 75

    /// Folds the unterminated content line that starts at `start` and runs to the end of `out`.
    ///
    /// Lines are written unfolded first because nearly all of them fit; only long ones pay for the copy.
    /// Folds fall on UTF-8 scalar boundaries so that no multi-byte character is split across lines.
    static func foldLine(from start: Int, in out: inout [UInt8]) {
        let length = out.count - start
        guard length > maxOctets else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: length) { line in
            _ = line.initialize(fromContentsOf: out[start...])
            defer { line.deinitialize() }
            out.removeLast(length)
            out.reserveCapacity(out.count + length + (length / (maxOctets - 1) + 1) * 3)
            var position = 0
            // The leading space of a continuation line counts toward its 75 octets.
            var room = maxOctets
            while length - position > room {
                var end = position + room
                while end > position && isContinuationByte(line[end]) { end -= 1 }
                // Malformed UTF-8 only: never loop forever.
                if end == position { end = position + room }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: line[position..<end]))
                out.appendLiteral("\r\n ")
                position = end
                room = maxOctets - 1
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: line[position..<length]))
        }
    }

    @inline(__always)
    private static func isContinuationByte(_ byte: UInt8) -> Bool {
        byte & 0xC0 == 0x80
    }
}
