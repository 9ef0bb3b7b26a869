/// How often, and how far apart, a failed request or batch entry is tried again.
///
/// Delays follow exponential backoff with full jitter: before retry `n` (1-based) the client sleeps a
/// uniformly random time in `0 ... min(maxDelay, baseDelay * 2^(n-1))`, so clients that failed together
/// do not retry together.
public struct AWSRetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included; 1 means no retry.
    public var maxAttempts: Int
    /// The cap of the first retry's delay; each retry doubles it.
    public var baseDelay: Duration
    /// No delay is longer than this.
    public var maxDelay: Duration

    /// Creates a policy; `maxAttempts` is at least 1.
    public init(maxAttempts: Int = 5, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(20)) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Five attempts, 100 ms doubling up to 20 s.
    public static let standard = AWSRetryPolicy()
    /// One attempt: errors are thrown at once.
    public static let never = AWSRetryPolicy(maxAttempts: 1)

    /// Whether `error`, after `attempt` attempts (1-based), deserves another.
    public func shouldRetry(_ error: any Error, afterAttempt attempt: Int) -> Bool {
        guard attempt < self.maxAttempts else { return false }
        return (error as? AWSError)?.isRetryable ?? false
    }

    /// The largest delay before retry `retry` (1-based): `min(maxDelay, baseDelay * 2^(retry-1))`.
    public func delayCap(beforeRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let cap = self.baseDelay * (1 << exponent)
        return cap < self.maxDelay ? cap : self.maxDelay
    }

    /// A random delay in `0 ... delayCap(beforeRetry:)` (full jitter).
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let cap = self.delayCap(beforeRetry: retry)
        let nanoseconds = cap.components.seconds * 1_000_000_000 + cap.components.attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }

    /// A random delay in `0 ... delayCap(beforeRetry:)` from the system generator.
    public func delay(beforeRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return self.delay(beforeRetry: retry, using: &generator)
    }
}
