/// A zlib compression level, 0 (stored, no compression) to 9 (smallest output, slowest).
///
/// Integer literals convert: `DeflatedBlock(compressing: bytes, level: 1)`.
public struct CompressionLevel: Sendable, Hashable, Comparable, ExpressibleByIntegerLiteral, CustomStringConvertible {
    /// The level as zlib takes it.
    public let rawValue: Int32

    /// Stored blocks: no compression, the fastest and the largest.
    public static let none: CompressionLevel = 0
    /// zlib's fastest level.
    public static let fastest: CompressionLevel = 1
    /// zlib's default (what `Z_DEFAULT_COMPRESSION` means).
    public static let `default`: CompressionLevel = 6
    /// zlib's smallest output.
    public static let best: CompressionLevel = 9

    /// A level in 0...9; nil otherwise.
    public init?(rawValue: Int) {
        guard (0...9).contains(rawValue) else { return nil }
        self.rawValue = Int32(rawValue)
    }

    /// A level in 0...9 (traps otherwise: a level is a programming decision, not input).
    public init(integerLiteral value: Int) {
        precondition((0...9).contains(value), "zlib compression levels are 0...9, not \(value)")
        self.rawValue = Int32(value)
    }

    public static func < (lhs: CompressionLevel, rhs: CompressionLevel) -> Bool {
        lhs.rawValue < rhs.rawValue
    }

    public var description: String { "level \(rawValue)" }
}
