import AlmanacTestSupport
import Synchronization
import Testing

@testable import Projector

@Suite("Batch hand-off of the Kafka projector")
struct BatchBufferTests {
    struct Failure: Error, Equatable {}

    @Test func deliversEverythingInOrderInBoundedBatches() async throws {
        let buffer = BatchBuffer<Int>(capacity: 50)
        async let produced: Void = {
            for value in 0..<2_000 { await buffer.push(value) }
            buffer.finish()
        }()
        var received: [Int] = []
        while let batch = try await buffer.take(upTo: 64) {
            #expect(!batch.isEmpty && batch.count <= 64)
            received += batch
        }
        await produced
        #expect(received == Array(0..<2_000))
    }

    @Test func whatArrivedWhileTheConsumerWasBusyIsTakenAtOnce() async throws {
        let buffer = BatchBuffer<Int>(capacity: 50)
        for value in 0..<30 { await buffer.push(value) }
        #expect(try await buffer.take(upTo: 20) == Array(0..<20))
        #expect(try await buffer.take(upTo: 20) == Array(20..<30))
    }

    @Test func theProducerWaitsWhileTheBufferIsFull() async throws {
        let buffer = BatchBuffer<Int>(capacity: 10)
        let pushed = Atomic<Int>(0)
        let producer = Task {
            for value in 0..<100 {
                await buffer.push(value)
                pushed.add(1, ordering: .relaxed)
            }
            buffer.finish()
        }
        // The tenth push fills the buffer and waits inside `push`.
        try await poll("the producer waits for room") { buffer.producerIsWaiting }
        #expect(pushed.load(ordering: .relaxed) == 9)
        var received: [Int] = []
        while let batch = try await buffer.take(upTo: 7) { received += batch }
        await producer.value
        #expect(received == Array(0..<100))
    }

    @Test func aFailureArrivesAfterTheQueuedElements() async throws {
        let buffer = BatchBuffer<Int>(capacity: 10)
        await buffer.push(1)
        await buffer.push(2)
        buffer.finish(throwing: Failure())
        #expect(try await buffer.take(upTo: 10) == [1, 2])
        await #expect(throws: Failure.self) { try await buffer.take(upTo: 10) }
    }

    @Test func cancellingAWaitingConsumerStopsTheBuffer() async throws {
        let buffer = BatchBuffer<Int>(capacity: 10)
        let consumer = Task { try await buffer.take(upTo: 10) }
        try await poll("the consumer waits") { buffer.consumerIsWaiting }
        consumer.cancel()
        await #expect(throws: CancellationError.self) { try await consumer.value }
        // A producer is never left waiting on a stopped buffer: twice the capacity goes through
        // without a consumer, within a time limit.
        let done = Atomic(false)
        let producer = Task {
            for value in 0..<20 { await buffer.push(value) }
            done.store(true, ordering: .releasing)
        }
        try await poll("20 pushes on a stopped buffer return", limit: .seconds(10)) {
            done.load(ordering: .acquiring)
        }
        await producer.value
        #expect(!buffer.producerIsWaiting)
    }
}
