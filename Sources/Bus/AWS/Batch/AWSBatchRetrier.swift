import Logging

/// Sends one batch (at most 10 entries) and sends again, after a jittered backoff, the entries that
/// failed retryably, until all are accepted or the policy's attempts are spent.
struct AWSBatchRetrier: Sendable {
    let policy: AWSRetryPolicy
    let logger: Logger

    /// The entries that failed for good, each with its last failure. `send` gets entries with their
    /// batch ids ("0"..."9", stable across attempts) and throws only if the whole request failed.
    func send<Entry: Sendable>(
        _ entries: [Entry],
        operation: String,
        _ send: ([(id: String, entry: Entry)]) async throws -> AWSBatchResult
    ) async throws -> [(entry: Entry, failure: AWSBatchFailure)] {
        var pending = entries.enumerated().map { (id: String($0.offset), entry: $0.element) }
        var permanent: [(entry: Entry, failure: AWSBatchFailure)] = []
        var attempt = 1
        while !pending.isEmpty {
            let result = try await send(pending)
            let failures = Dictionary(result.failed.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let accepted = Set(result.successful)
            var retry: [(id: String, entry: Entry)] = []
            var retryFailures: [AWSBatchFailure] = []
            for item in pending where !accepted.contains(item.id) {
                // An entry the response does not mention was not acknowledged: send it again.
                let failure =
                    failures[item.id]
                    ?? AWSBatchFailure(
                        id: item.id,
                        code: "MissingFromResponse",
                        message: "the response named neither success nor failure",
                        senderFault: false
                    )
                if failure.isRetryable {
                    retry.append(item)
                    retryFailures.append(failure)
                } else {
                    permanent.append((item.entry, failure))
                }
            }
            guard !retry.isEmpty else { break }
            guard attempt < self.policy.maxAttempts else {
                permanent += zip(retry, retryFailures).map { ($0.entry, $1) }
                break
            }
            let delay = self.policy.delay(beforeRetry: attempt)
            self.logger.debug(
                "retrying failed batch entries",
                metadata: [
                    "operation": "\(operation)", "entries": "\(retry.count)", "attempt": "\(attempt)",
                    "delay": "\(delay)", "first": "\(retryFailures[0])",
                ]
            )
            try await Task.sleep(for: delay)
            attempt += 1
            pending = retry
        }
        return permanent
    }
}
