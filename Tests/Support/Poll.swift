/// A condition did not hold within its time limit.
public struct PollTimeout: Error, CustomStringConvertible {
    public var what: String
    public var limit: Duration
    public var description: String { "timed out after \(limit) waiting until \(what)" }
}

/// Waits until `condition` holds, checking every `interval`, for at most `limit`: the way tests
/// wait for something to happen (never a fixed sleep).
public func poll(
    _ what: String,
    limit: Duration = .seconds(30),
    interval: Duration = .milliseconds(5),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + limit
    while true {
        if try await condition() { return }
        guard ContinuousClock.now < deadline else { throw PollTimeout(what: what, limit: limit) }
        try await Task.sleep(for: interval)
    }
}
