import AlmanacTestSupport
import NIOCore
import Projector
import Testing

@testable import API

/// The feed cache's block layout, without a database: ids stay in order across inserts,
/// removals and splits; a change re-assembles (and recompresses) only its block; assembled bytes
/// are what a fresh layout of the same fragments gives, compressed ones decode to them.
@Suite("Feed blocks")
struct FeedBlocksTests {
    /// Every id's fragment in a variant: `<id>;` for open todos, nothing for ids divisible by 7.
    static func fragment(_ id: Int) -> ByteBuffer? {
        id % 7 == 0 ? nil : ByteBuffer(string: "\(id);")
    }

    static func joined(_ parts: [ByteBuffer]) -> String {
        parts.map { String(buffer: $0) }.joined()
    }

    @Test func assemblesTheFragmentsInIdOrder() {
        var blocks = FeedBlocks(ids: Array(1...10), blockSize: 4)
        #expect(blocks.blocks.map(\.ids) == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]])
        let parts = blocks.parts(.events, fragment: Self.fragment)
        #expect(Self.joined(parts) == "1;2;3;4;5;6;8;9;10;")
        #expect(blocks.assembledBytes == parts.reduce(0) { $0 + $1.readableBytes })
    }

    /// The touched blocks of a large change are compressed on several threads at once; the parts
    /// are the blocks' own, in the blocks' order, whatever the number of lanes.
    @Test(arguments: [1, 2, 3, 8])
    func compressingOnSeveralLanesKeepsTheBlocksInOrder(_ lanes: Int) async {
        let buffers = (0..<37).map { block in
            ByteBuffer(string: (0..<(50 + block * 13)).map { "block \(block) line \($0)\r\n" }.joined())
        }
        let parts = await GzipPart.compressYielding(buffers, lanes: lanes)
        let oneByOne = GzipPart.compress(buffers)
        #expect(parts.map(\.bytes) == oneByOne.map(\.bytes))
        #expect(parts.map(\.checksum) == oneByOne.map(\.checksum))
    }

    /// Every number of blocks splits into lanes without an empty or out-of-range one: rounding
    /// the lane size up made the last lanes start past the end (33 blocks in 8 lanes of 5: lane 7
    /// was 35..<33, a trap), which only machines with 7 or more cores reach.
    @Test func everyBlockCountSplitsIntoLanes() async {
        let buffers = (0..<200).map { ByteBuffer(string: "block \($0);") }
        let oneByOne = GzipPart.compress(buffers).map(\.bytes)
        for count in 0..<buffers.count {
            for lanes in [2, 3, 5, 7, 8, 16] {
                let parts = await GzipPart.compressYielding(Array(buffers[..<count]), lanes: lanes)
                #expect(parts.map(\.bytes) == Array(oneByOne[..<count]), "\(count) blocks in \(lanes) lanes")
            }
        }
    }

    @Test func aChangeReassemblesOnlyItsBlock() {
        var blocks = FeedBlocks(ids: Array(1...12), blockSize: 4)
        _ = blocks.parts(.events, fragment: Self.fragment)
        var assembled: [Int] = []
        blocks.invalidate(containing: 6)
        _ = blocks.parts(.events) { id in
            assembled.append(id)
            return Self.fragment(id)
        }
        #expect(Set(assembled) == [5, 6, 7, 8])
    }

    @Test func variantsAreAssembledSeparately() {
        var blocks = FeedBlocks(ids: [1, 2, 3], blockSize: 4)
        let events = blocks.parts(.events) { ByteBuffer(string: "e\($0)") }
        let tasks = blocks.parts(.tasks) { ByteBuffer(string: "t\($0)") }
        #expect(Self.joined(events) == "e1e2e3")
        #expect(Self.joined(tasks) == "t1t2t3")
        #expect(blocks.assembledBytes == 12)
        blocks.invalidate(containing: 2)
        #expect(blocks.assembledBytes == 0)
    }

    @Test func insertsSplitAndRemovalsMergeAwayEmptyBlocks() {
        var blocks = FeedBlocks(ids: [], blockSize: 2)
        for id in [5, 1, 9, 3, 7, 2, 8] { blocks.insert(id) }
        #expect(blocks.ids == [1, 2, 3, 5, 7, 8, 9])
        #expect(blocks.blocks.allSatisfy { $0.ids.count < 4 })
        for id in [1, 2, 3, 5] { blocks.remove(id) }
        blocks.remove(42)
        #expect(blocks.ids == [7, 8, 9])
        #expect(!blocks.blocks.contains { $0.ids.isEmpty })
    }

    /// A block's compression is kept per variant until the block changes; one made from an
    /// assembly the block no longer has is refused, even after earlier blocks went away.
    @Test func compressedBlocksAreKeptUntilTheirBlockChanges() throws {
        var blocks = FeedBlocks(ids: Array(1...12), blockSize: 4)
        let parts = blocks.assemble(.events, fragment: Self.fragment)
        #expect(parts.count == 3 && parts.allSatisfy { $0.deflated == nil })
        let compressed = GzipPart.compress(parts.map(\.bytes))
        for (part, deflated) in zip(parts, compressed) {
            let kept = blocks.keep(deflated, variant: .events, for: part)
            #expect(kept)
        }
        #expect(blocks.deflatedBytes == compressed.reduce(0) { $0 + $1.bytes.readableBytes })
        let events = blocks.assemble(.events, fragment: Self.fragment)
        let tasks = blocks.assemble(.tasks, fragment: Self.fragment)
        #expect(events.allSatisfy { $0.deflated != nil })
        #expect(tasks.allSatisfy { $0.deflated == nil })

        blocks.invalidate(containing: 6)
        let after = blocks.assemble(.events, fragment: Self.fragment)
        #expect(after.map { $0.deflated == nil } == [false, true, false])
        let stale = blocks.keep(compressed[1], variant: .events, for: parts[1])
        #expect(!stale)
        #expect(blocks.deflatedBytes == compressed[0].bytes.readableBytes + compressed[2].bytes.readableBytes)

        // The first block goes away: the second block's index changes, its compression still lands.
        for id in [1, 2, 3, 4] { blocks.remove(id) }
        #expect(blocks.blocks.count == 2)
        let moved = blocks.keep(GzipPart.compress([after[1].bytes])[0], variant: .events, for: after[1])
        #expect(moved)
        let served = blocks.assemble(.events, fragment: Self.fragment)
        #expect(served.allSatisfy { $0.deflated != nil })
        let stream = GzipPart.stream(served.map { $0.deflated! })
        let bytes = stream.buffers.flatMap { Array($0.readableBytesView) }
        #expect(bytes.count == stream.length)
        #expect(String(decoding: try GzipDecoders.zlib(bytes), as: UTF8.self) == Self.joined(served.map(\.bytes)))
    }

    /// Random edits against a model (a sorted set): the layout always holds the model's ids in
    /// order, and the assembled feed equals a fresh layout's.
    @Test(arguments: [1, 2, 3, 4])
    func randomEditsMatchAFreshLayout(seed: UInt64) throws {
        var random = SplitMix(state: seed)
        var model = Set<Int>()
        var blocks = FeedBlocks(ids: [], blockSize: 8)
        for round in 0..<2_000 {
            let id = Int(random.next() % 300)
            if random.next() % 3 == 0 {
                model.remove(id)
                blocks.remove(id)
            } else if model.insert(id).inserted {
                blocks.insert(id)
            } else {
                blocks.invalidate(containing: id)
            }
            if round % 97 == 0 {
                let parts = blocks.assemble(.events, fragment: Self.fragment)
                let served = Self.joined(parts.map(\.bytes))
                var fresh = FeedBlocks(ids: model.sorted(), blockSize: 8)
                #expect(served == Self.joined(fresh.parts(.events, fragment: Self.fragment)))
                // Compressions kept across edits still decode to what is served.
                let missing = parts.filter { $0.deflated == nil }
                for (part, deflated) in zip(missing, GzipPart.compress(missing.map(\.bytes))) {
                    let kept = blocks.keep(deflated, variant: .events, for: part)
                    #expect(kept)
                }
                let stream = GzipPart.stream(blocks.assemble(.events, fragment: Self.fragment).map { $0.deflated! })
                let decoded = try GzipDecoders.zlib(stream.buffers.flatMap { Array($0.readableBytesView) })
                #expect(String(decoding: decoded, as: UTF8.self) == served)
            }
        }
        #expect(blocks.ids == model.sorted())
    }
}
