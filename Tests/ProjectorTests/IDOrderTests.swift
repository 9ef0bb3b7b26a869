import Testing

@testable import Projector

/// The full render walks the todos in id order without hashing each id again.
@Suite("Id order of the full render")
struct IDOrderTests {
    static let shapes: [(String, [Int])] = [
        ("empty", []),
        ("one", [7]),
        ("dense with holes", Array(1...5_000).filter { $0 % 7 != 0 }),
        ("dense, not from 1", Array(90_000...91_000)),
        ("sparse", [3, 1_000_000, 42, 9_999_999_999, -5]),
        ("the extremes (a span that overflows)", [Int.min, 0, Int.max, -1, 1]),
        ("just dense enough", Array(stride(from: 0, through: 4 * 100 + 1_000, by: 1_024 / 100 + 3))),
    ]

    @Test(arguments: shapes.indices)
    func positionsComeInAscendingIDOrder(shape: Int) {
        let (name, ids) = Self.shapes[shape]
        let todos = Dictionary(uniqueKeysWithValues: ids.shuffled().map { ($0, "todo \($0)") })
        let order = FullRegeneration.idOrder(todos)
        #expect(order.map { todos.keys[$0] } == ids.sorted(), "\(name)")
        #expect(order.map { todos.values[$0] } == ids.sorted().map { "todo \($0)" }, "\(name)")
    }
}
