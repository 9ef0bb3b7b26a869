import Foundation
import Testing

@testable import Projector

@Suite("Large output buffers")
struct LargeBufferTests {
    @Test func reservingKeepsTheContentsAndTheRoom() {
        var bytes: [UInt8] = Array("BEGIN:VCALENDAR\r\n".utf8)
        bytes.reserveLargeCapacity(64 << 20)
        #expect(bytes == Array("BEGIN:VCALENDAR\r\n".utf8))
        #expect(bytes.capacity >= 64 << 20)
        bytes.append(contentsOf: repeatElement(0x41, count: 3 << 20))
        #expect(bytes.count == 17 + 3 << 20)
        #expect(bytes[17] == 0x41 && bytes.last == 0x41)
    }

    /// The kernel records the advice on the mapping: /proc/self/smaps marks it eligible for huge
    /// pages unless THP is switched off (`never`) or absent from the kernel.
    @Test func theReservedMemoryIsEligibleForHugePages() throws {
        var bytes: [UInt8] = [1, 2, 3]
        let advised = bytes.reserveLargeCapacity(64 << 20)
        let address = bytes.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) } + (4 << 20)
        let eligible = try Self.thpEligible(containing: address)
        guard let mode = try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8)
        else {
            // A kernel built without THP refuses the advice, and nothing is eligible.
            #expect(!advised && !eligible)
            return
        }
        #expect(advised)
        #expect(eligible == !mode.contains("[never]"), "THP mode \(mode)")
    }

    /// Below the threshold the buffer may come from the heap: no advice, whatever the kernel.
    @Test func smallBuffersAreNotAdvised() {
        var bytes: [UInt8] = []
        let advised = bytes.reserveLargeCapacity([UInt8].hugePageThreshold / 2)
        #expect(!advised)
        #expect(bytes.capacity >= [UInt8].hugePageThreshold / 2)
    }

    /// The `THPeligible` line of the mapping that holds `address`.
    static func thpEligible(containing address: UInt) throws -> Bool {
        // /proc files report a size of 0: read to the end rather than by size.
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        var inMapping = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
                let low = UInt(line[..<dash], radix: 16),
                let high = UInt(line[line.index(after: dash)..<space], radix: 16)
            {
                inMapping = (low..<high).contains(address)
            } else if inMapping, line.hasPrefix("THPeligible:") {
                return line.hasSuffix("1")
            }
        }
        Issue.record("no mapping holds \(String(address, radix: 16))")
        return false
    }
}
