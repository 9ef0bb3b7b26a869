import AlmanacTestSupport
import NIOCore
import Projector
import Testing

@testable import API

/// The feed cache's block layout, without a database: ids stay in order across inserts,
/// removals and splits; a change re-assembles only its block; assembled bytes are what a fresh
/// layout of the same fragments gives.
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

    /// Random edits against a model (a sorted set): the layout always holds the model's ids in
    /// order, and the assembled feed equals a fresh layout's.
    @Test(arguments: [1, 2, 3, 4])
    func randomEditsMatchAFreshLayout(seed: UInt64) {
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
                let served = Self.joined(blocks.parts(.events, fragment: Self.fragment))
                var fresh = FeedBlocks(ids: model.sorted(), blockSize: 8)
                #expect(served == Self.joined(fresh.parts(.events, fragment: Self.fragment)))
            }
        }
        #expect(blocks.ids == model.sorted())
    }
}
