package import Logging
package import PostgresNIO
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
    /// periodic `tick` covers what is missed meanwhile).
    package func listen(on channel: String, client: PostgresClient, logger: Logger) async {
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: channel) { notifications in
                        self.listening.store(true, ordering: .releasing)
                        defer { self.listening.store(false, ordering: .releasing) }
                        // Whatever was signalled before the LISTEN took effect is picked up now.
                        self.signal()
                        for try await _ in notifications { self.signal() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN failed; polling only", metadata: ["channel": "\(channel)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
