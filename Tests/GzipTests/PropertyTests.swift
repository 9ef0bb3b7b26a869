import Gzip
import Testing

@Suite struct PropertyTests {
    /// Seeded random block lists: stitched, they decode to the concatenation; after one block is replaced
    /// and recompressed, to the new concatenation. A failure names its seed.
    @Test(arguments: 0..<48)
    func randomBlockListsRoundTrip(caseIndex: Int) throws {
        let seed = 0xA1_3A_4A_C0 &+ UInt64(caseIndex) &* 0x9E37_79B9
        var random = SplitMix64(seed: seed)
        let level = CompressionLevel(rawValue: Int(random.next() % 10))!
        var contents = (0..<Int(random.next() % 9)).map { _ in Samples.randomContents(&random) }
        var blocks = contents.map { DeflatedBlock(compressing: $0, level: level) }

        let stream = GzipStream.bytes(of: blocks)
        try expectSameBytes(Inflate.gunzip(stream), contents.flatMap { $0 }, "seed \(seed), \(level)")
        #expect(GzipChecksum(combining: blocks) == GzipChecksum(of: contents.flatMap { $0 }), "seed \(seed)")
        #expect(stream.count == GzipStream.compressedCount(of: blocks), "seed \(seed)")

        guard !contents.isEmpty else { return }
        let index = Int(random.next() % UInt64(contents.count))
        contents[index] = Samples.randomContents(&random)
        blocks[index] = DeflatedBlock(compressing: contents[index], level: level)
        let changed = GzipStream.bytes(of: blocks)
        try expectSameBytes(Inflate.gunzip(changed), contents.flatMap { $0 }, "seed \(seed), \(level), block \(index)")

        // A few cases also go through the external decoders (each costs a process).
        if caseIndex % 12 == 0 {
            try expectSameBytes(ExternalDecoders.python(changed), contents.flatMap { $0 }, "seed \(seed)")
            try expectSameBytes(ExternalDecoders.gzipDecompress(changed), contents.flatMap { $0 }, "seed \(seed)")
        }
    }
}
