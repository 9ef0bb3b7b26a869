/// Publishes messages; returns only when the broker has acknowledged every one of them (throws otherwise).
public protocol EventPublisher: Sendable {
    /// Publishes `messages` and waits until every one is acknowledged; throws if any of them was not.
    func publish(_ messages: [BusMessage]) async throws
}
