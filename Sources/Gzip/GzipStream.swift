/// Stitches independently deflated blocks into one gzip member (RFC 1952):
///
///     header (10 bytes) · block.bytes · block.bytes · … · final block (03 00) · CRC-32 · ISIZE
///
/// which `closing` gives as 10 bytes: the empty final fixed-Huffman block `03 00`, then the little-endian
/// CRC-32 of all the uncompressed bytes (combined from the blocks' CRCs) and their length mod 2^32.
///
/// To serve a feed kept as blocks, with `Content-Encoding: gzip`:
///
///     let length = GzipStream.compressedCount(of: blocks)         // Content-Length
///     for piece in GzipStream.pieces(of: blocks) { write(piece) }  // header, blocks, closing
///
/// or, with the checksum kept by the cache (`GzipChecksum(combining: blocks)` after a change):
/// `GzipStream.header`, each `block.bytes`, then `GzipStream.closing(for: checksum)`.
/// A changed block is recompressed alone (`DeflatedBlock(compressing:)`), and the stream stays valid.
public enum GzipStream {
    /// The member header: ID1 ID2, CM = 8 (deflate), no flags, no MTIME, XFL = 0, OS = 255 (unknown).
    public static let header: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF]

    /// An empty final block: BFINAL = 1, BTYPE = 01 (fixed Huffman), then the 7-bit end-of-block code.
    public static let finalBlock: [UInt8] = [0x03, 0x00]

    /// Bytes of a stream besides its blocks: header, final block and trailer.
    public static let overheadCount = header.count + finalBlock.count + 8

    /// The 8-byte trailer: CRC-32 and ISIZE (the length mod 2^32), both little-endian.
    public static func trailer(for checksum: GzipChecksum) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        appendTrailer(for: checksum, to: &bytes)
        return bytes
    }

    /// What follows the last block: the final block and the trailer (10 bytes).
    public static func closing(for checksum: GzipChecksum) -> [UInt8] {
        var bytes = finalBlock
        bytes.reserveCapacity(finalBlock.count + 8)
        appendTrailer(for: checksum, to: &bytes)
        return bytes
    }

    /// What follows `blocks`: the final block and the trailer of their combined checksum.
    public static func closing(for blocks: some Sequence<DeflatedBlock>) -> [UInt8] {
        closing(for: GzipChecksum(combining: blocks))
    }

    /// The size of the whole stream (for Content-Length), from the blocks' sizes alone.
    public static func compressedCount(of blocks: some Sequence<DeflatedBlock>) -> Int {
        blocks.reduce(overheadCount) { $0 + $1.bytes.count }
    }

    /// The stream's pieces in order, without concatenating them: the header, the bytes of each non-empty
    /// block (the blocks' own arrays, not copies), then the closing.
    ///
    /// - Parameter checksum: the blocks' combined checksum if the caller keeps it (checked in debug builds);
    ///   nil to combine it on the way.
    public static func pieces<Blocks: Sequence<DeflatedBlock>>(
        of blocks: Blocks,
        checksum: GzipChecksum? = nil
    ) -> GzipPieces<Blocks> {
        GzipPieces(blocks: blocks, checksum: checksum)
    }

    /// Writes the whole stream to the start of `buffer`, which must hold `compressedCount(of: blocks)` bytes;
    /// returns the number of bytes written. `checksum` as in `pieces(of:checksum:)`.
    @discardableResult
    public static func write(
        _ blocks: some Sequence<DeflatedBlock>,
        checksum: GzipChecksum? = nil,
        to buffer: UnsafeMutableRawBufferPointer
    ) -> Int {
        var written = 0
        for piece in pieces(of: blocks, checksum: checksum) {
            precondition(buffer.count - written >= piece.count, "buffer too small for the gzip stream")
            piece.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[written...]).copyMemory(from: $0) }
            written += piece.count
        }
        return written
    }

    /// The whole stream in one array.
    public static func bytes(of blocks: some Collection<DeflatedBlock>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(compressedCount(of: blocks))
        for piece in pieces(of: blocks) { bytes.append(contentsOf: piece) }
        return bytes
    }

    private static func appendTrailer(for checksum: GzipChecksum, to bytes: inout [UInt8]) {
        for value in [checksum.crc32, checksum.isize] {
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
    }
}

/// The pieces of a gzip stream over `Blocks`, in order: `GzipStream.header`, the bytes of each non-empty
/// block, then `GzipStream.closing` of their combined checksum (given, or combined on the way). One pass
/// over the blocks.
public struct GzipPieces<Blocks: Sequence<DeflatedBlock>>: Sequence {
    let blocks: Blocks
    let checksum: GzipChecksum?

    public func makeIterator() -> Iterator {
        Iterator(blocks: blocks.makeIterator(), checksum: checksum)
    }

    public struct Iterator: IteratorProtocol {
        private enum Position {
            case header, blocks, done
        }

        private var blocks: Blocks.Iterator
        private var position = Position.header
        private let givenChecksum: GzipChecksum?
        private let combining: Bool
        private var checksum = GzipChecksum()

        init(blocks: Blocks.Iterator, checksum: GzipChecksum?) {
            self.blocks = blocks
            givenChecksum = checksum
            #if DEBUG
                combining = true  // also to check a given checksum
            #else
                combining = checksum == nil
            #endif
        }

        public mutating func next() -> [UInt8]? {
            switch position {
            case .header:
                position = .blocks
                return GzipStream.header
            case .blocks:
                while let block = blocks.next() {
                    guard !block.bytes.isEmpty else { continue }
                    if combining { checksum.append(block) }
                    return block.bytes
                }
                position = .done
                if let givenChecksum {
                    assert(checksum == givenChecksum, "the given checksum is not the blocks' combined checksum")
                    return GzipStream.closing(for: givenChecksum)
                }
                return GzipStream.closing(for: checksum)
            case .done:
                return nil
            }
        }
    }
}

extension GzipPieces: Sendable where Blocks: Sendable {}
