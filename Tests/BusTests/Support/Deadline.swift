import Synchronization

/// A test step that did not finish in time.
struct DeadlineExceeded: Error, CustomStringConvertible {
    let step: String
    let timeout: Duration
    var description: String { "\(self.step) did not finish within \(self.timeout)" }
}

/// Runs `operation`, failing after `timeout` even if it is stuck in something that ignores cancellation.
///
/// A task group would wait for a stuck child forever; here the stuck task is cancelled and abandoned.
func withDeadline<T: Sendable>(
    _ timeout: Duration,
    _ step: String = "operation",
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = OnceContinuation<T>()
    return try await withCheckedThrowingContinuation { continuation in
        outcome.install(continuation)
        let work = Task {
            let result = await Result { try await operation() }
            outcome.resume(with: result)
        }
        Task {
            // The deadline's own timer: it fails the step when the time limit is up.
            try? await Task.sleep(for: timeout)
            if outcome.resume(with: .failure(DeadlineExceeded(step: step, timeout: timeout))) {
                work.cancel()
            }
        }
    }
}

/// Resumes its continuation exactly once, whoever comes first.
private final class OnceContinuation<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?)>(
        (nil, nil)
    )

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let early = self.state.withLock { state -> Result<T, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    /// Returns whether this call was the first.
    @discardableResult
    func resume(with result: Result<T, any Error>) -> Bool {
        let (first, continuation) = self.state.withLock { state -> (Bool, CheckedContinuation<T, any Error>?) in
            guard state.result == nil else { return (false, nil) }
            state.result = result
            defer { state.continuation = nil }
            return (true, state.continuation)
        }
        continuation?.resume(with: result)
        return first
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
