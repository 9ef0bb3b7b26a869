extension [UInt8] {
    /// Appends a literal without going through `String`, so fixed property names cost no allocation.
    @inline(__always)
    mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { self.append(contentsOf: $0) }
    }

    @inline(__always)
    mutating func appendCRLF() {
        appendLiteral("\r\n")
    }

    /// Appends `value` in base 10 with a leading `-` when negative.
    mutating func appendDecimal(_ value: Int) {
        appendScratch(capacity: ScratchBytes.decimalCapacity) { $0.appendDecimal(value) }
    }

    /// Appends what `body` writes into at most `capacity` octets of stack memory, in one copy.
    ///
    /// Every `append` of one octet checks the array's uniqueness and capacity; a component's
    /// fixed lines (names, dates, numbers, CRLF) are dozens of them, so they are assembled on the
    /// stack first (a full render of 100,000 components spent a fifth of its time in those checks).
    @inline(__always)
    mutating func appendScratch(capacity: Int, _ body: (inout ScratchBytes) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var scratch = ScratchBytes(buffer)
            body(&scratch)
            append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<scratch.count]))
        }
    }
}

/// A few octets written into stack memory (see `Array.appendScratch`); writing past its capacity
/// is a programming error and traps.
struct ScratchBytes: ~Copyable {
    /// Room for any `Int` in base 10: 19 digits and a sign.
    static let decimalCapacity = 20

    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        precondition(count < buffer.count, "an octet beyond the scratch capacity")
        buffer[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func appendLiteral(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes in
            precondition(count + bytes.count <= buffer.count, "a literal beyond the scratch capacity")
            _ = UnsafeMutableBufferPointer(rebasing: buffer[count...]).update(fromContentsOf: bytes)
            count += bytes.count
        }
    }

    @inline(__always)
    mutating func appendCRLF() {
        append(0x0D)
        append(0x0A)
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
        precondition(count + digitCount <= buffer.count, "digits beyond the scratch capacity")
        var index = count + digitCount - 1
        count += digitCount
        rest = magnitude
        repeat {
            buffer[index] = 0x30 &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        } while rest > 0
    }
}
