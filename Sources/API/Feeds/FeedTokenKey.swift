public import Crypto
import Foundation

/// The AES-256-GCM key that seals feed tokens in the database. It lives outside the database
/// (`ALMANAC_FEED_TOKEN_KEY`), so that a dump of the database alone reveals no feed URL; every
/// API process serving the same database needs the same key.
public struct FeedTokenKey: Sendable {
    public let key: SymmetricKey

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String {
            "the feed token key must be 32 bytes, written as 64 hex digits or base64 (e.g. `openssl rand -hex 32`)"
        }
    }

    /// 32 bytes written as 64 hex digits, or as base64 / base64url (padded or not).
    public init(parsing text: String) throws {
        let text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let bytes = Self.hex(text) ?? Self.base64(text), bytes.count == 32 {
            key = SymmetricKey(data: bytes)
        } else {
            throw Invalid()
        }
    }

    private static func hex(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func base64(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while standard.utf8.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }
}
