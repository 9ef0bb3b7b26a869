/// Some bytes compressed as an independent piece of a raw deflate stream, ready to be stitched with other
/// blocks into one gzip member by `GzipStream`.
///
/// The deflate data starts from an empty window (it refers to no byte before it), ends on a byte boundary
/// with a sync-flush marker (an empty stored block, `00 00 FF FF`), and contains no final block. Any
/// sequence of such blocks, in any order, is therefore a valid deflate stream once a final block follows;
/// replacing one block leaves the others valid. Empty input gives a block with no bytes at all.
///
/// The price of independence, against one deflate stream over the whole feed: no match can reach into the
/// previous block, and each block costs a 4 to 5 byte marker.
public struct DeflatedBlock: Sendable, Hashable {
    /// Raw deflate data (no header or trailer); empty for empty input.
    public let bytes: [UInt8]
    /// CRC-32 of the uncompressed bytes.
    public let crc32: UInt32
    /// The number of uncompressed bytes.
    public let uncompressedCount: Int

    /// The block of no bytes: it adds nothing to a stream.
    public static let empty = DeflatedBlock(bytes: [], crc32: 0, uncompressedCount: 0)

    init(bytes: [UInt8], crc32: UInt32, uncompressedCount: Int) {
        self.bytes = bytes
        self.crc32 = crc32
        self.uncompressedCount = uncompressedCount
    }

    /// Compresses `bytes` (e.g. `buffer.withUnsafeReadableBytes { DeflatedBlock(compressing: $0) }` for a
    /// NIO `ByteBuffer`). Uses a zlib stream for this call only; `BlockDeflater` reuses one across blocks.
    public init(compressing bytes: UnsafeRawBufferPointer, level: CompressionLevel = .default) {
        if bytes.isEmpty {
            self = .empty
            return
        }
        var deflater = BlockDeflater(level: level)
        self = deflater.compress(bytes)
    }

    /// Compresses `bytes`, without a copy when the collection is contiguous (`[UInt8]`, `ArraySlice`, ...).
    public init(compressing bytes: some Collection<UInt8>, level: CompressionLevel = .default) {
        let contiguous = bytes.withContiguousStorageIfAvailable {
            DeflatedBlock(compressing: UnsafeRawBufferPointer($0), level: level)
        }
        self = contiguous ?? Array(bytes).withUnsafeBytes { DeflatedBlock(compressing: $0, level: level) }
    }

    /// The block's CRC-32 and length, to combine with other blocks'.
    public var checksum: GzipChecksum {
        GzipChecksum(crc32: crc32, uncompressedCount: UInt64(uncompressedCount))
    }

    /// The compressed size over the uncompressed size (0 for an empty block).
    public var ratio: Double {
        uncompressedCount == 0 ? 0 : Double(bytes.count) / Double(uncompressedCount)
    }
}
