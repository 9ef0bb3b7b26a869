import CZlib

/// Compresses blocks one after another with one zlib deflate stream, reset (not reallocated) between blocks,
/// and one growable output buffer: cheaper than `DeflatedBlock(compressing:)` when a feed's blocks are
/// compressed in a row. Not thread-safe and not copyable; use one per task.
public struct BlockDeflater: ~Copyable {
    /// The level of every block this deflater produces.
    public let level: CompressionLevel

    // The z_stream must not move: zlib's state points back at it and rejects a moved stream.
    private let stream: UnsafeMutablePointer<z_stream>
    private var output: UnsafeMutableRawBufferPointer

    private static let initialOutputCapacity = 64 * 1024
    /// Output buffers grown beyond this (by a huge block) are released after the block.
    private static let retainedOutputCapacity = 4 * 1024 * 1024

    /// A deflater at `level` (raw deflate: windowBits -15, memLevel 8, default strategy).
    public init(level: CompressionLevel = .default) {
        self.level = level
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_deflate_init_raw(stream, level.rawValue)
        // The level is valid by construction, so only Z_MEM_ERROR is possible: out of memory.
        precondition(status == Z_OK, "deflateInit2 failed with status \(status)")
        output = .allocate(byteCount: Self.initialOutputCapacity, alignment: 1)
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        output.deallocate()
    }

    /// Compresses `bytes` as an independent block.
    public mutating func compress(_ bytes: UnsafeRawBufferPointer) -> DeflatedBlock {
        guard let input = bytes.baseAddress, bytes.count > 0 else { return .empty }
        let status = deflateReset(stream)
        precondition(status == Z_OK, "deflateReset failed with status \(status)")

        // Enough for the whole block almost always; the loop below grows the buffer if it is not.
        reserveOutput(Int(deflateBound(stream, uLong(bytes.count))) + 16)
        var produced = 0
        var consumed = 0
        repeat {
            // avail_in is 32 bits: larger inputs go in slices.
            let slice = min(bytes.count - consumed, Int(UInt32.max))
            let flush = consumed + slice == bytes.count ? Z_SYNC_FLUSH : Z_NO_FLUSH
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: (input + consumed).assumingMemoryBound(to: Bytef.self)
            )
            stream.pointee.avail_in = uInt(slice)
            // Until deflate leaves output space unused: then it consumed the slice and, with Z_SYNC_FLUSH,
            // emitted everything up to the byte-aligned marker.
            repeat {
                if produced == output.count { reserveOutput(2 * output.count, keeping: produced) }
                let space = min(output.count - produced, Int(UInt32.max))
                stream.pointee.next_out = (output.baseAddress! + produced).assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(space)
                let status = deflate(stream, flush)
                // Z_BUF_ERROR only means "no progress possible", e.g. a flush already complete.
                precondition(status == Z_OK || status == Z_BUF_ERROR, "deflate failed with status \(status)")
                produced += space - Int(stream.pointee.avail_out)
            } while stream.pointee.avail_out == 0
            precondition(stream.pointee.avail_in == 0, "deflate left input unconsumed")
            consumed += slice
        } while consumed < bytes.count
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil

        let compressed = [UInt8](UnsafeRawBufferPointer(rebasing: output[..<produced]))
        if output.count > Self.retainedOutputCapacity {
            output.deallocate()
            output = .allocate(byteCount: Self.initialOutputCapacity, alignment: 1)
        }
        return DeflatedBlock(
            bytes: compressed,
            crc32: GzipChecksum.crc32(of: bytes),
            uncompressedCount: bytes.count
        )
    }

    /// Compresses `bytes` as an independent block, without a copy when the collection is contiguous.
    public mutating func compress(_ bytes: some Collection<UInt8>) -> DeflatedBlock {
        if let block = bytes.withContiguousStorageIfAvailable({ compress(UnsafeRawBufferPointer($0)) }) {
            return block
        }
        return Array(bytes).withUnsafeBytes { compress($0) }
    }

    /// Makes the output buffer at least `capacity` bytes, keeping its first `kept` bytes.
    private mutating func reserveOutput(_ capacity: Int, keeping kept: Int = 0) {
        guard capacity > output.count else { return }
        let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        if kept > 0 { larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: output[..<kept])) }
        output.deallocate()
        output = larger
    }
}
