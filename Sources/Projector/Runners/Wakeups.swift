/// A level-triggered wake-up signal: many signals while busy coalesce into one wake-up.
/// One consumer iterates `signals`.
final class Wakeups: Sendable {
    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    func signal() { continuation.yield() }

    func finish() { continuation.finish() }

    /// Signals periodically (the polling fallback when a NOTIFY is missed).
    func tick(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            signal()
        }
    }
}
