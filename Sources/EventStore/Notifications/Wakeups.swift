import Synchronization

/// A level-triggered wake-up signal: many signals while busy coalesce into one wake-up.
/// One consumer iterates `signals`.
package final class Wakeups: Sendable {
    package let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let listening = Atomic(false)

    /// Whether a LISTEN connection is established now (tests wait for it instead of sleeping).
    package var isListening: Bool { listening.load(ordering: .acquiring) }

    package init() {
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    package func signal() { continuation.yield() }

    package func finish() { continuation.finish() }

    /// Signals periodically (the polling fallback when a NOTIFY is missed).
    package func tick(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            signal()
        }
    }

    /// Signals on every NOTIFY on `channel` until cancelled, reconnecting after errors (the
    /// periodic `tick` covers what is missed meanwhile); signals once more whenever the LISTEN
    /// takes effect, for whatever was announced while it was down.
    package func listen(on channel: String, store: EventStore) async {
        await store.listen(
            on: channel,
            onListening: {
                self.listening.store(true, ordering: .releasing)
                self.signal()
            },
            onLost: { self.listening.store(false, ordering: .releasing) },
            onNotification: { _ in self.signal() }
        )
    }
}
