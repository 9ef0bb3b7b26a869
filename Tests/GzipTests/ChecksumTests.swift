import Foundation
import Gzip
import Testing

@Suite struct ChecksumTests {
    @Test func combiningBlockChecksumsEqualsAOneShotCRC() {
        var random = SplitMix64(seed: 0xC0C0_0032)
        let parts = (0..<40).map { _ in Samples.randomContents(&random) }
        let whole = parts.flatMap { $0 }
        let blocks = parts.map { DeflatedBlock(compressing: $0, level: .fastest) }
        #expect(GzipChecksum(combining: blocks) == GzipChecksum(of: whole))
        #expect(GzipChecksum(combining: blocks).uncompressedCount == UInt64(whole.count))

        // Any split of the same bytes gives the same checksum, and appending is associative.
        var running = GzipChecksum()
        var offset = 0
        while offset < whole.count {
            let length = min(whole.count - offset, Int(random.next() % 70_000))
            running.append(GzipChecksum(of: whole[offset..<(offset + length)]))
            offset += length
        }
        #expect(running == GzipChecksum(of: whole))
        let (a, b, c) = (GzipChecksum(of: parts[2]), GzipChecksum(of: parts[3]), GzipChecksum(of: parts[4]))
        #expect(a.appending(b).appending(c) == a.appending(b.appending(c)))
        #expect(GzipChecksum().appending(a) == a)
        #expect(a.appending(GzipChecksum()) == a)
    }

    @Test func knownCRC() {
        // The CRC-32 check value of "123456789".
        #expect(GzipChecksum(of: Array("123456789".utf8)).crc32 == 0xCBF4_3926)
        #expect(GzipChecksum(of: [UInt8]()) == GzipChecksum())
    }

    /// Lengths past 4 GiB must combine with all 64 bits: were they cut to 32 bits, `y + z` below would be
    /// combined as if 5 bytes long and the two groupings would disagree.
    @Test func combiningIsExactBeyondFourGiB() {
        let x = GzipChecksum(crc32: 0x1234_5678, uncompressedCount: 1_000)
        let y = GzipChecksum(crc32: 0x9ABC_DEF0, uncompressedCount: 1 << 31)
        let z = GzipChecksum(crc32: 0x0F1E_2D3C, uncompressedCount: (1 << 31) + 5)
        let left = x.appending(y).appending(z)
        let right = x.appending(y.appending(z))
        #expect(left == right)
        #expect(left.uncompressedCount == 1_000 + (1 << 32) + 5)
        #expect(left.isize == 1_005)
        // A length of exactly 2^32 is not a length of 0.
        let w = GzipChecksum(crc32: 0x0F1E_2D3C, uncompressedCount: 1 << 32)
        // (crc32_combine with a length of 0 gives crc1 ^ crc2.)
        #expect(x.appending(w).crc32 != x.crc32 ^ w.crc32)
    }

    @Test func trailerIsLittleEndianCRCAndLengthModuloTwoToThe32() {
        let checksum = GzipChecksum(crc32: 0xDEAD_BEEF, uncompressedCount: (1 << 32) + 3)
        #expect(GzipStream.trailer(for: checksum) == [0xEF, 0xBE, 0xAD, 0xDE, 0x03, 0x00, 0x00, 0x00])
        #expect(GzipStream.closing(for: checksum) == [0x03, 0x00] + GzipStream.trailer(for: checksum))
        #expect(GzipStream.overheadCount == 20)
    }

    /// A real stream of 4 GiB + 1 MiB: 4,097 copies of one compressed MiB (about 4 MB of gzip). zlib's inflate
    /// checks the trailer's CRC-32 and ISIZE, and so does `gzip -t`. About 19 s on 2 cores (every run).
    @Test
    func aStreamBeyondFourGiBDecodes() throws {
        var random = SplitMix64(seed: 0xB16_0004)
        let mebibyte = Samples.calendarText(count: 1 << 20, random: &random)
        let block = DeflatedBlock(compressing: mebibyte, level: .default)
        let blocks = [DeflatedBlock](repeating: block, count: 4_097)
        let checksum = GzipChecksum(combining: blocks)
        #expect(checksum.uncompressedCount == (1 << 32) + (1 << 20))
        #expect(checksum.isize == 1 << 20)

        let stream = GzipStream.bytes(of: blocks)
        let decoded = try Inflate.gunzipChecksum(stream)
        #expect(decoded.count == checksum.uncompressedCount)
        #expect(decoded.crc32 == checksum.crc32)
        try ExternalDecoders.gzipTest(stream)
    }
}
