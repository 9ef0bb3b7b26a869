import AlmanacTestSupport
import EventStore
import MetricsTestKit
import PostgresNIO
import Testing

/// The pool gauges count leases from the callers' side (PostgresNIO 1.33 has no public hook).
@Suite("Pool meter")
struct PoolMeterTests {
    /// Leases a connection (counted by `meter`) and holds it until `release()`.
    struct Holder {
        let task: Task<Void, any Error>
        let releaser: AsyncStream<Void>.Continuation

        init(client: PostgresClient, meter: PoolMeter) async throws {
            let (held, heldContinuation) = AsyncStream<Void>.makeStream()
            let (release, releaseContinuation) = AsyncStream<Void>.makeStream()
            task = Task {
                try await client.leased(meter: meter) { _ in
                    heldContinuation.yield()
                    for await _ in release { break }
                }
            }
            self.releaser = releaseContinuation
            for await _ in held { break }
        }

        func release() async throws {
            releaser.yield()
            try await task.value
        }
    }

    static func gauge(_ metrics: TestMetrics, _ label: String) -> Double? {
        metrics.recorders(label: label).first?.lastValue
    }

    @Test(.timeLimit(.minutes(1)))
    func leasesAndWaitersAreCountedAndReleased() async throws {
        let metrics = TestMetrics()
        let meter = PoolMeter(factory: metrics)
        let url = try await TestDatabase.create()
        try await TestDatabase.withClient(url: url, poolSize: 1) { client in
            let holder = try await Holder(client: client, meter: meter)
            #expect(meter.current.inUse == 1)
            #expect(Self.gauge(metrics, "almanac_db_pool_connections_in_use") == 1)

            // The only connection is leased: a second caller waits.
            let waiter = Task { try await client.leased(meter: meter) { _ in meter.current } }
            try await poll("the second caller is counted as waiting") { meter.current.waiting == 1 }
            #expect(Self.gauge(metrics, "almanac_db_pool_waiters") == 1)

            try await holder.release()
            let seenByWaiter = try await waiter.value
            #expect(seenByWaiter.inUse == 1 && seenByWaiter.waiting == 0)
            #expect(meter.current.inUse == 0 && meter.current.waiting == 0)
            #expect(Self.gauge(metrics, "almanac_db_pool_connections_in_use") == 0)
            #expect(Self.gauge(metrics, "almanac_db_pool_waiters") == 0)
            let waits = try #require(metrics.timers.first { $0.label == "almanac_db_pool_wait_seconds" })
            #expect(waits.values.count == 2)
        }
    }

    /// A caller cancelled while waiting is no longer counted.
    @Test(.timeLimit(.minutes(1)))
    func aCancelledWaiterIsNotCountedAnyMore() async throws {
        let meter = PoolMeter(factory: TestMetrics())
        let url = try await TestDatabase.create()
        try await TestDatabase.withClient(url: url, poolSize: 1) { client in
            let holder = try await Holder(client: client, meter: meter)
            let waiter = Task { try await client.leased(meter: meter) { _ in 1 } }
            try await poll("the second caller is counted as waiting") { meter.current.waiting == 1 }
            waiter.cancel()
            _ = await waiter.result
            try await poll("the cancelled caller is not counted") { meter.current.waiting == 0 }
            try await holder.release()
            #expect(meter.current.inUse == 0 && meter.current.waiting == 0)
        }
    }
}
