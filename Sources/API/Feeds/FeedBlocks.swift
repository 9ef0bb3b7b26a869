import Gzip
import NIOCore
import Projector

/// A feed's todo ids in order, cut into blocks of consecutive ids, with each block's assembled
/// bytes kept per variant, and lazily their gzip compression. A change invalidates only the block
/// that holds the id (both forms), so serving after it re-assembles and recompresses one block,
/// not the feed. Pure: the feed cache owns the fragments and decides when to compress.
struct FeedBlocks {
    /// Fragments per block (a block splits when it reaches twice this).
    let blockSize: Int

    struct Block {
        var ids: [Int]
        /// Changes whenever the block's ids or fragments may have: compressed bytes made from an
        /// earlier assembly are not kept (`keep(_:variant:for:)`).
        var serial: UInt64
        var assembled: [FeedVariant: ByteBuffer] = [:]
        var deflated: [FeedVariant: GzipPart] = [:]
        var assembledBytes: Int { assembled.values.reduce(0) { $0 + $1.readableBytes } }
        var deflatedBytes: Int { deflated.values.reduce(0) { $0 + $1.bytes.readableBytes } }
    }

    /// One non-empty assembled block of a variant, as served.
    struct Part: Sendable {
        var index: Int
        var serial: UInt64
        var bytes: ByteBuffer
        /// Its gzip compression, if made since the block last changed.
        var deflated: GzipPart?
    }

    private(set) var blocks: [Block] = []
    /// Bytes of all assembled blocks (the cache's budget counts them).
    private(set) var assembledBytes = 0
    /// Bytes of all compressed blocks (counted too).
    private(set) var deflatedBytes = 0
    private var nextSerial: UInt64 = 0

    init(ids: [Int], blockSize: Int = 256) {
        precondition(blockSize > 0)
        self.blockSize = blockSize
        for start in stride(from: 0, to: ids.count, by: blockSize) {
            blocks.append(Block(ids: Array(ids[start..<min(start + blockSize, ids.count)]), serial: newSerial()))
        }
    }

    /// Every id, in order.
    var ids: [Int] { blocks.flatMap(\.ids) }

    /// Assembled and compressed bytes together.
    var bytes: Int { assembledBytes + deflatedBytes }

    private mutating func newSerial() -> UInt64 {
        nextSerial += 1
        return nextSerial
    }

    /// The assembled blocks of `variant` (empty ones left out), assembling what is missing from
    /// `fragment`, which gives an id's bytes in that variant.
    mutating func parts(_ variant: FeedVariant, fragment: (Int) -> ByteBuffer?) -> [ByteBuffer] {
        assemble(variant, fragment: fragment).map(\.bytes)
    }

    /// The non-empty blocks of `variant` with what is known of them, assembling what is missing.
    mutating func assemble(_ variant: FeedVariant, fragment: (Int) -> ByteBuffer?) -> [Part] {
        var parts: [Part] = []
        parts.reserveCapacity(blocks.count)
        for index in blocks.indices {
            let bytes: ByteBuffer
            if let assembled = blocks[index].assembled[variant] {
                bytes = assembled
            } else {
                bytes = Self.assemble(blocks[index].ids, fragment: fragment)
                blocks[index].assembled[variant] = bytes
                assembledBytes += bytes.readableBytes
            }
            if bytes.readableBytes > 0 {
                parts.append(
                    Part(
                        index: index,
                        serial: blocks[index].serial,
                        bytes: bytes,
                        deflated: blocks[index].deflated[variant]
                    )
                )
            }
        }
        return parts
    }

    /// Keeps `deflated`, the compression of `part` (from `assemble`), unless its block changed
    /// since; returns whether it was kept.
    @discardableResult
    mutating func keep(_ deflated: GzipPart, variant: FeedVariant, for part: Part) -> Bool {
        let index: Int
        if part.index < blocks.count, blocks[part.index].serial == part.serial {
            index = part.index
        } else if let found = blocks.firstIndex(where: { $0.serial == part.serial }) {
            // Blocks before it were removed.
            index = found
        } else {
            return false
        }
        guard blocks[index].assembled[variant] != nil, blocks[index].deflated[variant] == nil else { return false }
        blocks[index].deflated[variant] = deflated
        deflatedBytes += deflated.bytes.readableBytes
        return true
    }

    private static func assemble(_ ids: [Int], fragment: (Int) -> ByteBuffer?) -> ByteBuffer {
        var size = 0
        for id in ids { size += fragment(id)?.readableBytes ?? 0 }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size)
        for id in ids {
            if var part = fragment(id) { buffer.writeBuffer(&part) }
        }
        return buffer
    }

    /// The fragment of `id` changed: its block is assembled and compressed again when next served.
    mutating func invalidate(containing id: Int) {
        guard !blocks.isEmpty else { return }
        invalidate(at: blockIndex(for: id))
    }

    private mutating func invalidate(at index: Int) {
        assembledBytes -= blocks[index].assembledBytes
        deflatedBytes -= blocks[index].deflatedBytes
        blocks[index].assembled = [:]
        blocks[index].deflated = [:]
        blocks[index].serial = newSerial()
    }

    /// Adds a new id in order.
    mutating func insert(_ id: Int) {
        if blocks.isEmpty { blocks = [Block(ids: [], serial: newSerial())] }
        let index = blockIndex(for: id)
        invalidate(at: index)
        var ids = blocks[index].ids
        let position = Self.insertionPoint(of: id, in: ids)
        guard position == ids.count || ids[position] != id else { return }
        ids.insert(id, at: position)
        if ids.count >= 2 * blockSize {
            let half = ids.count / 2
            blocks[index].ids = Array(ids[..<half])
            blocks.insert(Block(ids: Array(ids[half...]), serial: newSerial()), at: index + 1)
        } else {
            blocks[index].ids = ids
        }
    }

    /// Removes an id (no-op when absent).
    mutating func remove(_ id: Int) {
        guard !blocks.isEmpty else { return }
        let index = blockIndex(for: id)
        invalidate(at: index)
        let position = Self.insertionPoint(of: id, in: blocks[index].ids)
        if position < blocks[index].ids.count, blocks[index].ids[position] == id {
            blocks[index].ids.remove(at: position)
        }
        if blocks[index].ids.isEmpty, blocks.count > 1 { blocks.remove(at: index) }
    }

    /// The index of the block that holds (or would hold) `id`.
    func blockIndex(for id: Int) -> Int {
        var low = 0
        var high = blocks.count
        while low < high {
            let mid = (low + high) / 2
            if let first = blocks[mid].ids.first, first <= id { low = mid + 1 } else { high = mid }
        }
        return max(0, low - 1)
    }

    static func insertionPoint(of id: Int, in order: [Int]) -> Int {
        if let last = order.last, last < id { return order.count }
        var low = 0
        var high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
