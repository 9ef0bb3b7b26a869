import Synchronization

/// A bounded hand-off from one producer task to one consumer task that takes whatever has
/// arrived, up to a limit, in one go: the consumer's batches grow when it falls behind and
/// shrink to single elements when it keeps up, so batching adds no latency.
///
/// The producer waits while `capacity` elements are queued. Cancelling either side stops the
/// buffer: both sides return, and `take` throws `CancellationError`.
final class BatchBuffer<Element: Sendable>: Sendable {
    private struct State {
        var items: [Element] = []
        var finished = false
        var stopped = false
        var failure: (any Error)?
        var consumer: CheckedContinuation<Void, Never>?
        var producer: CheckedContinuation<Void, Never>?

        mutating func takeConsumer() -> CheckedContinuation<Void, Never>? {
            let consumer = self.consumer
            self.consumer = nil
            return consumer
        }
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Whether the producer is waiting for room (tests synchronise on it).
    var producerIsWaiting: Bool { state.withLock { $0.producer != nil } }

    /// Whether the consumer is waiting for elements (tests synchronise on it).
    var consumerIsWaiting: Bool { state.withLock { $0.consumer != nil } }

    /// Appends `element`, then waits while the buffer is full.
    func push(_ element: Element) async {
        let consumer = state.withLock { state in
            state.items.append(element)
            return state.takeConsumer()
        }
        consumer?.resume()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let proceed = state.withLock { state in
                    if state.items.count < capacity || state.stopped { return true }
                    state.producer = continuation
                    return false
                }
                if proceed { continuation.resume() }
            }
        } onCancel: {
            stop()
        }
    }

    /// No more elements will come; `failure` is thrown by `take` once the queue is drained.
    func finish(throwing failure: (any Error)? = nil) {
        let consumer = state.withLock { state in
            state.finished = true
            state.failure = failure
            return state.takeConsumer()
        }
        consumer?.resume()
    }

    /// The next 1...`limit` elements, waiting for the first; nil once finished and drained.
    func take(upTo limit: Int) async throws -> [Element]? {
        while true {
            let (batch, producer, end) = state.withLock {
                state -> ([Element], CheckedContinuation<Void, Never>?, Bool) in
                if state.stopped { return ([], nil, true) }
                if !state.items.isEmpty {
                    let count = min(limit, state.items.count)
                    let batch = Array(state.items.prefix(count))
                    state.items.removeFirst(count)
                    let producer = state.producer
                    state.producer = nil
                    return (batch, producer, false)
                }
                return ([], nil, state.finished)
            }
            producer?.resume()
            if !batch.isEmpty { return batch }
            if end {
                let (stopped, failure) = state.withLock { ($0.stopped, $0.failure) }
                if stopped { throw CancellationError() }
                if let failure { throw failure }
                return nil
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = state.withLock { state in
                        if !state.items.isEmpty || state.finished || state.stopped { return true }
                        state.consumer = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                stop()
            }
        }
    }

    /// Stops the buffer: both sides return at once from now on, and `take` throws
    /// `CancellationError`.
    func stop() {
        let (consumer, producer) = state.withLock { state in
            state.stopped = true
            let producer = state.producer
            state.producer = nil
            return (state.takeConsumer(), producer)
        }
        consumer?.resume()
        producer?.resume()
    }
}
