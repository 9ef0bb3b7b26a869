import NIOConcurrencyHelpers

/// Offset commits sent to the group coordinator and not answered yet, by id.
///
/// librdkafka answers an asynchronous commit through a callback that gets the id as its opaque
/// pointer (no retained object crosses C). A waiter that times out or is cancelled removes its
/// entry, so a late answer finds nothing and is dropped.
final class PendingCommits: Sendable {
    private struct State {
        var nextID: UInt = 1
        var waiting: [UInt: CommitOutcome] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// Registers `outcome`; the returned id is the commit's opaque value.
    func add(_ outcome: CommitOutcome) -> UInt {
        self.state.withLockedValue { state in
            let id = state.nextID
            state.nextID &+= 1
            if state.nextID == 0 { state.nextID = 1 }
            state.waiting[id] = outcome
            return id
        }
    }

    /// Removes and returns the commit `id`, if it still waits.
    func take(_ id: UInt) -> CommitOutcome? {
        self.state.withLockedValue { $0.waiting.removeValue(forKey: id) }
    }

    /// How many commits wait for an answer.
    var count: Int { self.state.withLockedValue { $0.waiting.count } }

    /// Fails every waiting commit (the client is gone: no answer can arrive).
    func failAll(_ error: KafkaError) {
        let all = self.state.withLockedValue { state in
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for outcome in all { outcome.resume(.failure(error)) }
    }
}

/// The result of one commit, delivered once, by whoever comes first: the coordinator's answer,
/// the timeout, cancellation or shutdown.
final class CommitOutcome: Sendable {
    private struct State {
        var waiter: CheckedContinuation<Void, any Error>?
        var result: Result<Void, any Error>?
    }

    private let state = NIOLockedValueBox(State())

    /// Delivers `result` unless one was delivered before.
    func resume(_ result: Result<Void, any Error>) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    /// Waits for the result (returns at once if it is there).
    func wait() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let early = self.state.withLockedValue { state -> Result<Void, any Error>? in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let early { continuation.resume(with: early) }
        }
    }
}
