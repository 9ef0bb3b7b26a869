import CZlib

/// The CRC-32 and the length of some uncompressed bytes: what a gzip trailer records.
///
/// Checksums concatenate: `a.appending(b)` is the checksum of the bytes of `a` followed by those of `b`,
/// computed from the two checksums alone with zlib's `crc32_combine` (O(log n) in the length of `b`, well
/// under a microsecond), so a stream's checksum follows from its blocks' checksums without rereading any
/// byte. Appending is associative and `GzipChecksum()` is its identity, so a cache may keep running totals,
/// prefix sums or a tree of partial checksums; recombining a few hundred blocks after a change is cheap
/// enough to just do.
public struct GzipChecksum: Sendable, Hashable {
    /// CRC-32 (ISO-HDLC, as gzip and zlib's `crc32` compute it) of the bytes.
    public private(set) var crc32: UInt32
    /// The exact number of bytes (not reduced mod 2^32; `isize` is).
    public private(set) var uncompressedCount: UInt64

    /// The checksum of no bytes.
    public init() {
        crc32 = 0
        uncompressedCount = 0
    }

    /// A checksum known from elsewhere (e.g. kept next to a stored block).
    public init(crc32: UInt32, uncompressedCount: UInt64) {
        self.crc32 = crc32
        self.uncompressedCount = uncompressedCount
    }

    /// The checksum of `bytes`, computed by reading them.
    public init(of bytes: UnsafeRawBufferPointer) {
        self.init(crc32: Self.crc32(of: bytes), uncompressedCount: UInt64(bytes.count))
    }

    /// The checksum of `bytes`, computed by reading them.
    public init(of bytes: some Collection<UInt8>) {
        let contiguous = bytes.withContiguousStorageIfAvailable { Self(of: UnsafeRawBufferPointer($0)) }
        self = contiguous ?? Array(bytes).withUnsafeBytes { Self(of: $0) }
    }

    /// The checksum of the concatenated uncompressed contents of `blocks`, from their checksums alone.
    public init(combining blocks: some Sequence<DeflatedBlock>) {
        self.init()
        for block in blocks { append(block.checksum) }
    }

    /// ISIZE of the gzip trailer: the length mod 2^32 (RFC 1952, 2.3.1).
    public var isize: UInt32 { UInt32(truncatingIfNeeded: uncompressedCount) }

    /// Extends the checksum by bytes whose checksum is `next`.
    public mutating func append(_ next: GzipChecksum) {
        guard next.uncompressedCount > 0 else { return }
        // 64-bit length (the shim checks that zlib takes one), so lengths past 4 GiB combine correctly.
        crc32 = czlib_crc32_combine(crc32, next.crc32, Int64(next.uncompressedCount))
        uncompressedCount += next.uncompressedCount
    }

    /// Extends the checksum by the uncompressed contents of `block`.
    public mutating func append(_ block: DeflatedBlock) {
        append(block.checksum)
    }

    /// The checksum of these bytes followed by those of `next`.
    public func appending(_ next: GzipChecksum) -> GzipChecksum {
        var result = self
        result.append(next)
        return result
    }

    static func crc32(of bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        // crc32_z takes a size_t length, so this is one call whatever the size.
        let crc = CZlib.crc32_z(0, base.assumingMemoryBound(to: Bytef.self), z_size_t(bytes.count))
        return UInt32(truncatingIfNeeded: crc)
    }
}
