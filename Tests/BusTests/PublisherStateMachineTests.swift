import Testing

@testable import Bus

@Suite("PublisherStateMachine")
struct PublisherStateMachineTests {
    /// Runs `body` with a real continuation and reports how it was resumed.
    private func outcome(
        _ body: (PublisherStateMachine.Continuation) -> Void
    ) async -> Result<Void, any Error> {
        do {
            try await withCheckedThrowingContinuation { body($0) }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    private func resume(_ action: PublisherStateMachine.CompletionAction) -> Bool {
        switch action {
        case .none: return false
        case .resume(let continuation, nil): continuation.resume()
        case .resume(let continuation, let error?): continuation.resume(throwing: error)
        }
        return true
    }

    @Test("a batch completes only when its last report arrives")
    func completesOnLastReport() async throws {
        var machine = PublisherStateMachine()
        let result = await self.outcome { continuation in
            guard case .produce(let id) = machine.startBatch(count: 3, continuation: continuation) else {
                Issue.record("batch refused")
                return
            }
            #expect(!self.resume(machine.delivered(batchID: id, error: nil)))
            #expect(!self.resume(machine.delivered(batchID: id, error: nil)))
            #expect(self.resume(machine.delivered(batchID: id, error: nil)))
        }
        #expect(throws: Never.self) { try result.get() }
        #expect(machine.pendingBatchCount == 0)
    }

    @Test("a failed report fails the batch, but only after every message settled")
    func failsWithFirstError() async throws {
        var machine = PublisherStateMachine()
        let timeout = KafkaError(code: .deliveryFailed, message: "timed out", rdKafkaName: "_MSG_TIMED_OUT")
        let result = await self.outcome { continuation in
            guard case .produce(let id) = machine.startBatch(count: 4, continuation: continuation) else { return }
            #expect(!self.resume(machine.delivered(batchID: id, error: timeout)))
            #expect(!self.resume(machine.delivered(batchID: id, error: nil)))
            // The last two were never enqueued: they settle at once.
            let refused = KafkaError(code: .produceFailed, message: "queue full")
            #expect(self.resume(machine.produceFailed(batchID: id, unproduced: 2, error: refused)))
        }
        #expect(throws: KafkaError.self) { try result.get() }
        if case .failure(let error as KafkaError) = result { #expect(error.rdKafkaName == "_MSG_TIMED_OUT") }
    }

    @Test("finishing hands back the batches still waiting, and refuses new ones")
    func finishFailsPending() async throws {
        var machine = PublisherStateMachine()
        try machine.run()
        #expect(machine.shouldPoll)
        machine.beginShutdown()
        #expect(!machine.shouldPoll)
        let pending = await self.outcome { continuation in
            guard case .produce = machine.startBatch(count: 1, continuation: continuation) else { return }
            let orphans = machine.finish()
            #expect(orphans.count == 1)
            for orphan in orphans { orphan.resume(throwing: KafkaError(code: .shutDown, message: "")) }
        }
        #expect(throws: KafkaError.self) { try pending.get() }

        let refused = await self.outcome { continuation in
            guard case .fail(let continuation, let error) = machine.startBatch(count: 1, continuation: continuation)
            else {
                Issue.record("accepted a batch after finish")
                return
            }
            #expect(error.code == .shutDown)
            continuation.resume(throwing: error)
        }
        #expect(throws: KafkaError.self) { try refused.get() }
    }

    @Test("run() twice is an error")
    func runTwice() throws {
        var machine = PublisherStateMachine()
        try machine.run()
        #expect(throws: KafkaError.self) { try machine.run() }
    }
}
