/// RFC 5545 TEXT escaping (section 3.3.11).
///
/// Backslash, semicolon and comma are escaped; LF, CRLF and a lone CR each become one `\n`.
/// Other C0 controls and DEL are removed because no property value may contain them.
/// TAB is kept: it is a TSAFE-CHAR (WSP) and round-trips through unfolding.
public enum TextValue {
    /// Returns `text` escaped as an RFC 5545 TEXT value.
    public static func escape(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        appendEscaped(text, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the escaped UTF-8 of `text` without an intermediate `String`.
    static func appendEscaped(_ text: String, into out: inout [UInt8]) {
        let handled: Void? = text.utf8.withContiguousStorageIfAvailable { bytes in
            appendEscaped(bytes, into: &out)
        }
        if handled == nil {
            // Only non-native (bridged) strings land here; make them contiguous once.
            var copy = text
            copy.makeContiguousUTF8()
            copy.utf8.withContiguousStorageIfAvailable { bytes in
                appendEscaped(bytes, into: &out)
            }
        }
    }

    static func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        guard let base = bytes.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        let count = bytes.count
        var runStart = 0
        var index = 0
        while index < count {
            // Skip eight plain bytes at a time: escaping dominates rendering time and most text is plain.
            if index + 8 <= count {
                let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                if !wordNeedsAttention(word) {
                    index += 8
                    continue
                }
            }
            let byte = bytes[index]
            if !needsAttention(byte) {
                index += 1
                continue
            }
            // Copy the untouched run in one go; most text has no special bytes at all.
            if runStart < index {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
            }
            switch byte {
            case 0x5C, 0x3B, 0x2C:  // \ ; ,
                out.append(0x5C)
                out.append(byte)
            case 0x0D:
                out.append(0x5C)
                out.append(0x6E)
                if index + 1 < count && bytes[index + 1] == 0x0A { index += 1 }
            case 0x0A:
                out.append(0x5C)
                out.append(0x6E)
            case 0x09:
                out.append(0x09)
            default:
                break
            }
            index += 1
            runStart = index
        }
        if runStart < count {
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<count]))
        }
    }

    @inline(__always)
    private static func needsAttention(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x5C || byte == 0x3B || byte == 0x2C || byte == 0x7F
    }

    private static let lows: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Whether any of the eight bytes needs attention, tested all at once (SWAR).
    @inline(__always)
    private static func wordNeedsAttention(_ word: UInt64) -> Bool {
        let found =
            bytesBelow(0x20, in: word) | zeroBytes(in: word ^ (lows &* 0x5C)) | zeroBytes(in: word ^ (lows &* 0x3B))
            | zeroBytes(in: word ^ (lows &* 0x2C)) | zeroBytes(in: word ^ (lows &* 0x7F))
        return found != 0
    }

    /// Non-zero exactly when some byte of `word` is zero (may flag extra bytes above the first zero, which is harmless
    /// because a flagged word is only re-examined byte by byte).
    @inline(__always)
    private static func zeroBytes(in word: UInt64) -> UInt64 {
        (word &- lows) & ~word & highs
    }

    /// Non-zero exactly when some byte of `word` is below `limit` (limit <= 0x80).
    @inline(__always)
    private static func bytesBelow(_ limit: UInt64, in word: UInt64) -> UInt64 {
        (word &- lows &* limit) & ~word & highs
    }
}
