/// AWS's URI encoding (RFC 3986): every byte of the UTF-8 form except `A-Z a-z 0-9 - _ . ~` becomes `%XX`.
///
/// Query strings, form bodies and SigV4 canonical requests all use it; `+` is never a space.
enum AWSPercentEncoding {
    /// Encodes `text`; bytes listed in `keeping` (ASCII) stay as they are too, e.g. `/` for a path.
    static func encode(_ text: some StringProtocol, keeping: String = "") -> String {
        let kept = Set(keeping.utf8)
        var encoded: [UInt8] = []
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || kept.contains(byte) {
                encoded.append(byte)
            } else {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// Encodes name/value pairs as an `application/x-www-form-urlencoded` body, in the given order.
    static func form(_ parameters: [(String, String)]) -> String {
        parameters.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
