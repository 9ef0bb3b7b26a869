import API
import Domain
import Synchronization

/// Writers that create todos as fast as they can until stopped, remembering every write that
/// was acknowledged (and counting the refused ones), as clients of a service under a fault do.
final class Load: Sendable {
    private struct State {
        var acknowledged: [Int64: [Int]] = [:]
        var refused = 0
    }

    private let state = Mutex(State())
    private let stopped = Atomic(false)

    var acknowledged: [Int64: [Int]] { state.withLock { $0.acknowledged } }
    var acknowledgedCount: Int { state.withLock { $0.acknowledged.values.reduce(0) { $0 + $1.count } } }
    var refused: Int { state.withLock { $0.refused } }

    func stop() { stopped.store(true, ordering: .releasing) }

    /// Runs `writers` concurrent writers spread over `users` until `stop()`.
    func run(todos: TodoService, users: [Int64], writers: Int) async {
        await withDiscardingTaskGroup { group in
            for writer in 0..<writers {
                let user = users[writer % users.count]
                group.addTask {
                    var round = 0
                    while !self.stopped.load(ordering: .acquiring) {
                        round += 1
                        do {
                            let todo = try await todos.create(
                                user: user,
                                try NewTodo(
                                    title: "w\(writer) r\(round)",
                                    deadline: try Deadline(parsing: "2030-01-02")
                                )
                            ).done
                            if let todo { self.state.withLock { $0.acknowledged[user, default: []].append(todo.id) } }
                        } catch {
                            self.state.withLock { $0.refused += 1 }
                            // Pacing: a refused write during an outage is tried again after 20 ms, as a client would.
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
        }
    }
}
