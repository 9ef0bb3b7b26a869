import NIOCore
import Projector

/// A feed's todo ids in order, cut into blocks of consecutive ids, with each block's assembled
/// bytes kept per variant. A change invalidates only the block that holds the id, so serving
/// after it re-assembles one block, not the feed. Pure: the feed cache owns the fragments.
struct FeedBlocks {
    /// Fragments per block (a block splits when it reaches twice this).
    let blockSize: Int

    struct Block {
        var ids: [Int]
        var assembled: [FeedVariant: ByteBuffer] = [:]
        var assembledBytes: Int { assembled.values.reduce(0) { $0 + $1.readableBytes } }
    }

    private(set) var blocks: [Block] = []
    /// Bytes of all assembled blocks (the cache's budget counts them).
    private(set) var assembledBytes = 0

    init(ids: [Int], blockSize: Int = 256) {
        precondition(blockSize > 0)
        self.blockSize = blockSize
        blocks = stride(from: 0, to: ids.count, by: blockSize).map {
            Block(ids: Array(ids[$0..<min($0 + blockSize, ids.count)]))
        }
    }

    /// Every id, in order.
    var ids: [Int] { blocks.flatMap(\.ids) }

    /// The assembled blocks of `variant` (empty ones left out), assembling what is missing from
    /// `fragment`, which gives an id's bytes in that variant.
    mutating func parts(_ variant: FeedVariant, fragment: (Int) -> ByteBuffer?) -> [ByteBuffer] {
        var parts: [ByteBuffer] = []
        parts.reserveCapacity(blocks.count)
        for index in blocks.indices {
            let part: ByteBuffer
            if let assembled = blocks[index].assembled[variant] {
                part = assembled
            } else {
                part = Self.assemble(blocks[index].ids, fragment: fragment)
                blocks[index].assembled[variant] = part
                assembledBytes += part.readableBytes
            }
            if part.readableBytes > 0 { parts.append(part) }
        }
        return parts
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

    /// The fragment of `id` changed: its block is assembled again when next served.
    mutating func invalidate(containing id: Int) {
        guard !blocks.isEmpty else { return }
        let index = blockIndex(for: id)
        assembledBytes -= blocks[index].assembledBytes
        blocks[index].assembled = [:]
    }

    /// Adds a new id in order.
    mutating func insert(_ id: Int) {
        if blocks.isEmpty { blocks = [Block(ids: [])] }
        let index = blockIndex(for: id)
        invalidate(containing: id)
        var ids = blocks[index].ids
        let position = Self.insertionPoint(of: id, in: ids)
        guard position == ids.count || ids[position] != id else { return }
        ids.insert(id, at: position)
        if ids.count >= 2 * blockSize {
            let half = ids.count / 2
            blocks[index].ids = Array(ids[..<half])
            blocks.insert(Block(ids: Array(ids[half...])), at: index + 1)
        } else {
            blocks[index].ids = ids
        }
    }

    /// Removes an id (no-op when absent).
    mutating func remove(_ id: Int) {
        guard !blocks.isEmpty else { return }
        let index = blockIndex(for: id)
        invalidate(containing: id)
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
