/// The publisher's state: its lifecycle and the batches waiting for delivery reports.
///
/// Transitions never resume a continuation; they return it so the caller resumes it outside the lock.
struct PublisherStateMachine {
    typealias Continuation = CheckedContinuation<Void, any Error>

    enum Lifecycle: Equatable {
        /// Created; messages may already be enqueued, reports are served once `run()` polls.
        case initial
        /// `run()` polls for delivery reports.
        case running
        /// Graceful shutdown: no more polling, the queue is being flushed.
        case draining
        /// The client is gone; publishing fails.
        case finished
    }

    private struct Batch {
        var outstanding: Int
        var firstError: KafkaError?
        let continuation: Continuation
    }

    private(set) var lifecycle: Lifecycle = .initial
    private var batches: [UInt64: Batch] = [:]
    private var nextBatchID: UInt64 = 1

    var pendingBatchCount: Int { self.batches.count }

    enum StartBatchAction {
        case produce(batchID: UInt64)
        case fail(Continuation, KafkaError)
    }

    /// Registers a batch of `count` (> 0) messages before they are handed to librdkafka.
    mutating func startBatch(count: Int, continuation: Continuation) -> StartBatchAction {
        precondition(count > 0, "empty batches never reach the state machine")
        guard self.lifecycle != .finished else {
            return .fail(continuation, KafkaError(code: .shutDown, message: "the publisher has shut down"))
        }
        let batchID = self.nextBatchID
        self.nextBatchID += 1
        self.batches[batchID] = Batch(outstanding: count, firstError: nil, continuation: continuation)
        return .produce(batchID: batchID)
    }

    enum CompletionAction {
        case none
        case resume(Continuation, KafkaError?)
    }

    /// One delivery report arrived (`error == nil` means the broker acknowledged the message).
    mutating func delivered(batchID: UInt64, error: KafkaError?) -> CompletionAction {
        self.settle(batchID: batchID, count: 1, error: error)
    }

    /// librdkafka refused a message; it and the `unproduced - 1` after it will never get a report.
    mutating func produceFailed(batchID: UInt64, unproduced: Int, error: KafkaError) -> CompletionAction {
        self.settle(batchID: batchID, count: unproduced, error: error)
    }

    private mutating func settle(batchID: UInt64, count: Int, error: KafkaError?) -> CompletionAction {
        guard var batch = self.batches[batchID] else { return .none }
        batch.outstanding -= count
        if batch.firstError == nil { batch.firstError = error }
        guard batch.outstanding <= 0 else {
            self.batches[batchID] = batch
            return .none
        }
        self.batches[batchID] = nil
        return .resume(batch.continuation, batch.firstError)
    }

    /// `run()` was called.
    mutating func run() throws(KafkaError) {
        switch self.lifecycle {
        case .initial:
            self.lifecycle = .running
        case .running, .draining:
            throw KafkaError(code: .alreadyRunning, message: "run() was called twice")
        case .finished:
            throw KafkaError(code: .shutDown, message: "the publisher has shut down")
        }
    }

    /// Whether the run loop should poll again.
    var shouldPoll: Bool { self.lifecycle == .running }

    /// Graceful shutdown was requested; the run loop stops polling and flushes.
    mutating func beginShutdown() {
        if self.lifecycle == .running || self.lifecycle == .initial {
            self.lifecycle = .draining
        }
    }

    /// The client is destroyed; every batch still waiting fails with the returned continuations.
    mutating func finish() -> [Continuation] {
        self.lifecycle = .finished
        let continuations = self.batches.values.map(\.continuation)
        self.batches = [:]
        return continuations
    }
}
