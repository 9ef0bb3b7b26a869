import Crypto
import Foundation
public import NIOCore

/// Random bearer secrets (API keys, feed tokens) and their stored hashes.
///
/// A secret is 256 random bits from the system CSPRNG, base64url without padding, with a
/// prefix that says what it is. Only its SHA-256 is stored.
public enum Secrets {
    public static func generate(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for _ in 0..<4 {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return prefix + base64URL(bytes)
    }

    /// Unpadded base64url (RFC 4648 section 5): safe in URL paths.
    public static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// The hash as a `bytea` bind parameter.
    public static func storedHash(_ secret: String) -> ByteBuffer {
        ByteBuffer(bytes: hash(secret))
    }

    /// Compares in time independent of where the first difference is.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let x = hash(a)
        let y = hash(b)
        var difference: UInt8 = 0
        for (p, q) in zip(x, y) { difference |= p ^ q }
        return difference == 0
    }
}
