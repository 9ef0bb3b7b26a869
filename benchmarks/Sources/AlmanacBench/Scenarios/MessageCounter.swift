import Synchronization

/// Messages a comparison consumer of the fan-out scenarios has taken, read while it runs.
final class MessageCounter: Sendable {
    private let value = Atomic<Int>(0)

    var count: Int { value.load(ordering: .relaxed) }

    func increment() {
        add(1)
    }

    func add(_ messages: Int) {
        value.add(messages, ordering: .relaxed)
    }
}
