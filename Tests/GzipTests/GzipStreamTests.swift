import Gzip
import Testing

/// Blocks at the edges: empty, one byte, a MiB of feed text, a MiB of incompressible bytes, runs, a feed block.
private let edgeContents: [[UInt8]] = {
    var random = SplitMix64(seed: 0x5EED_0001)
    return [
        [],
        [0x41],
        Samples.calendarText(count: 1 << 20, random: &random),
        [],
        Samples.randomBytes(count: 1 << 20, random: &random),
        Array("BEGIN:VCALENDAR\r\n".utf8),
        Samples.calendarText(count: 85_000, random: &random),
        Samples.runs(count: 1 << 20, random: &random),
        [0x00],
        [],
    ]
}()

private let levels: [CompressionLevel] = [.none, .fastest, .default, .best]

@Suite struct GzipStreamTests {
    @Test(arguments: levels)
    func stitchedBlocksInflateToTheirConcatenation(level: CompressionLevel) throws {
        let blocks = edgeContents.map { DeflatedBlock(compressing: $0, level: level) }
        let stream = GzipStream.bytes(of: blocks)

        try expectSameBytes(Inflate.gunzip(stream), edgeContents.flatMap { $0 })
        #expect(stream.count == GzipStream.compressedCount(of: blocks))
        #expect(Array(stream.prefix(10)) == GzipStream.header)
        #expect(Array(stream.suffix(10)) == GzipStream.closing(for: GzipChecksum(of: edgeContents.flatMap { $0 })))
    }

    @Test func writingToABufferAndYieldingPiecesGiveTheSameStream() {
        let blocks = edgeContents.map { DeflatedBlock(compressing: $0, level: .fastest) }
        let stream = GzipStream.bytes(of: blocks)

        var written = [UInt8](repeating: 0xAA, count: GzipStream.compressedCount(of: blocks) + 3)
        let count = written.withUnsafeMutableBytes { GzipStream.write(blocks, to: $0) }
        #expect(count == stream.count)
        expectSameBytes(Array(written.prefix(count)), stream)
        #expect(written.suffix(3).allSatisfy { $0 == 0xAA })

        let pieces = Array(GzipStream.pieces(of: blocks))
        expectSameBytes(pieces.flatMap { $0 }, stream)
        // Header, the non-empty blocks themselves, closing: empty blocks yield no piece.
        #expect(pieces.count == 2 + blocks.filter { !$0.bytes.isEmpty }.count)
        #expect(pieces.first == GzipStream.header)
        let middle = Array(pieces.dropFirst().dropLast())
        #expect(middle.count == blocks.filter { !$0.bytes.isEmpty }.count)
        for (piece, block) in zip(middle, blocks.filter { !$0.bytes.isEmpty }) { expectSameBytes(piece, block.bytes) }
        #expect(pieces.last == GzipStream.closing(for: blocks))

        // With the checksum a cache keeps, instead of combining it on the way.
        let checksum = GzipChecksum(combining: blocks)
        expectSameBytes(GzipStream.pieces(of: blocks, checksum: checksum).flatMap { $0 }, stream)
        var again = [UInt8](repeating: 0, count: stream.count)
        again.withUnsafeMutableBytes { #expect(GzipStream.write(blocks, checksum: checksum, to: $0) == stream.count) }
        expectSameBytes(again, stream)
    }

    @Test(arguments: levels)
    func everyBlockInflatesAloneAndIsNotFinal(level: CompressionLevel) throws {
        for contents in edgeContents {
            let block = DeflatedBlock(compressing: contents, level: level)
            #expect(block.uncompressedCount == contents.count)
            #expect(block.checksum == GzipChecksum(of: contents))
            if contents.isEmpty {
                #expect(block == .empty)
                continue
            }
            // A fresh raw inflater has an empty window: decoding alone proves no match reaches before the block.
            let decoded = try Inflate.raw(block.bytes)
            expectSameBytes(decoded.output, contents)
            #expect(!decoded.reachedEnd, "a block must not be final")
            // Byte-aligned, ending with the sync-flush marker (an empty stored block).
            #expect(Array(block.bytes.suffix(4)) == [0x00, 0x00, 0xFF, 0xFF])
        }
    }

    @Test func streamsOfNoBytesAreValid() throws {
        let expected = GzipStream.header + [0x03, 0x00] + [UInt8](repeating: 0, count: 8)
        for blocks in [[], [DeflatedBlock.empty], [DeflatedBlock(compressing: [UInt8](), level: .best), .empty]] {
            let stream = GzipStream.bytes(of: blocks)
            #expect(stream == expected)
            #expect(try Inflate.gunzip(stream) == [])
        }
        #expect(try ExternalDecoders.python(expected) == [])
        #expect(try ExternalDecoders.gzipDecompress(expected) == [])
    }

    @Test func pythonGzipDecodesTheStitchedStream() throws {
        for level in [CompressionLevel.fastest, .default] {
            let blocks = edgeContents.map { DeflatedBlock(compressing: $0, level: level) }
            try expectSameBytes(ExternalDecoders.python(GzipStream.bytes(of: blocks)), edgeContents.flatMap { $0 })
        }
    }

    @Test func systemGzipAgrees() throws {
        for level in [CompressionLevel.none, .default] {
            let blocks = edgeContents.map { DeflatedBlock(compressing: $0, level: level) }
            let stream = GzipStream.bytes(of: blocks)
            try ExternalDecoders.gzipTest(stream)
            try expectSameBytes(ExternalDecoders.gzipDecompress(stream), edgeContents.flatMap { $0 })
        }
    }

    @Test func decodersRejectAWrongTrailer() throws {
        let blocks = edgeContents.prefix(3).map { DeflatedBlock(compressing: $0) }
        var stream = GzipStream.bytes(of: blocks)
        stream[stream.count - 8] ^= 0x01  // CRC-32
        #expect(throws: Inflate.Failure.self) { try Inflate.gunzip(stream) }
        #expect(throws: ExternalDecoders.Failure.self) { try ExternalDecoders.python(stream) }
        #expect(throws: ExternalDecoders.Failure.self) { try ExternalDecoders.gzipTest(stream) }
        stream[stream.count - 8] ^= 0x01
        stream[stream.count - 4] ^= 0x01  // ISIZE
        #expect(throws: Inflate.Failure.self) { try Inflate.gunzip(stream) }
        #expect(throws: ExternalDecoders.Failure.self) { try ExternalDecoders.gzipTest(stream) }
    }

    /// The cache's case: a feed kept as blocks of 256 fragments, one fragment changes, one block is recompressed.
    @Test(arguments: [CompressionLevel.fastest, .default])
    func recompressingOneChangedBlockMatchesAFreshCompression(level: CompressionLevel) throws {
        var random = SplitMix64(seed: 0xFEED_0012)
        var fragments = (0..<(12 * 256)).map { _ in Samples.fragment(&random) }
        func contents(ofBlock index: Int) -> [UInt8] {
            fragments[(index * 256)..<((index + 1) * 256)].flatMap { $0 }
        }
        let header = Array("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanac//Almanac 1.0//EN\r\n".utf8)
        let footer = Array("END:VCALENDAR\r\n".utf8)
        var blocks = [DeflatedBlock(compressing: header, level: level)]
        blocks += (0..<12).map { DeflatedBlock(compressing: contents(ofBlock: $0), level: level) }
        blocks.append(DeflatedBlock(compressing: footer, level: level))
        let before = GzipStream.bytes(of: blocks)

        fragments[7 * 256 + 100] = Array("BEGIN:VTODO\r\nUID:changed\r\nSUMMARY:✓ Done\r\nEND:VTODO\r\n".utf8)
        blocks[1 + 7] = DeflatedBlock(compressing: contents(ofBlock: 7), level: level)
        let after = GzipStream.bytes(of: blocks)

        let feed = header + fragments.flatMap { $0 } + footer
        let fresh = GzipStream.bytes(of: [DeflatedBlock(compressing: feed, level: level)])
        try expectSameBytes(Inflate.gunzip(after), feed)
        try expectSameBytes(Inflate.gunzip(after), Inflate.gunzip(fresh))
        #expect(GzipChecksum(combining: blocks) == GzipChecksum(of: feed))
        let beforeMatches = try Inflate.gunzip(before) == feed
        #expect(!beforeMatches)
        // Around the changed block, the stream before and after are the same bytes (the blocks kept as they were).
        let leading = GzipStream.header.count + blocks[..<8].map(\.bytes.count).reduce(0, +)
        let trailing = blocks[9...].map(\.bytes.count).reduce(0, +)
        expectSameBytes(Array(before.prefix(leading)), Array(after.prefix(leading)))
        expectSameBytes(Array(before.dropLast(10).suffix(trailing)), Array(after.dropLast(10).suffix(trailing)))
        #expect(before.suffix(10) != after.suffix(10))
    }

    @Test func aReusedDeflaterProducesWhatAFreshStreamDoes() {
        var deflater = BlockDeflater(level: .default)
        for contents in edgeContents + edgeContents.reversed() {
            let reused = deflater.compress(contents)
            let fresh = DeflatedBlock(compressing: contents, level: .default)
            expectSameBytes(reused.bytes, fresh.bytes, "\(contents.count) bytes")
            #expect(reused.checksum == fresh.checksum)
        }
    }

    @Test func nonContiguousInputIsCompressedLikeAnArray() throws {
        let lazy = (0..<100_000).lazy.map { UInt8(truncatingIfNeeded: $0 % 251 ^ $0 / 997) }
        let block = DeflatedBlock(compressing: lazy, level: .default)
        expectSameBytes(block.bytes, DeflatedBlock(compressing: Array(lazy), level: .default).bytes)
        try expectSameBytes(Inflate.raw(block.bytes).output, Array(lazy))
        #expect(GzipChecksum(of: lazy) == GzipChecksum(of: Array(lazy)))
    }

    @Test func levelsOutsideZlibsRangeAreRejected() {
        #expect(CompressionLevel(rawValue: -1) == nil)
        #expect(CompressionLevel(rawValue: 10) == nil)
        #expect(CompressionLevel(rawValue: 6) == .default)
        #expect(CompressionLevel.fastest < .best)
    }
}
