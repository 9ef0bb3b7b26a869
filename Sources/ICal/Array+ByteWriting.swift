extension [UInt8] {
    static let carriageReturn: UInt8 = 0x0D
    static let lineFeed: UInt8 = 0x0A

    /// Appends a literal without going through `String`, so fixed property names cost no allocation.
    @inline(__always)
    mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { self.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendCRLF() {
        append(Self.carriageReturn)
        append(Self.lineFeed)
    }

    /// Appends `value` in base 10 with a leading `-` when negative.
    mutating func appendDecimal(_ value: Int) {
        if value < 0 { append(0x2D) }
        let magnitude = value.magnitude
        var digitCount = 1
        var rest = magnitude / 10
        while rest > 0 {
            digitCount += 1
            rest /= 10
        }
        append(contentsOf: repeatElement(0x30, count: digitCount))
        var index = count - 1
        rest = magnitude
        repeat {
            self[index] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
    }

    /// Appends a non-negative `value` as exactly two digits.
    @inline(__always)
    mutating func appendTwoDigits(_ value: Int) {
        append(0x30 &+ UInt8(truncatingIfNeeded: value / 10))
        append(0x30 &+ UInt8(truncatingIfNeeded: value % 10))
    }

    /// Appends a non-negative `value` as exactly four digits.
    @inline(__always)
    mutating func appendFourDigits(_ value: Int) {
        appendTwoDigits(value / 100)
        appendTwoDigits(value % 100)
    }
}
