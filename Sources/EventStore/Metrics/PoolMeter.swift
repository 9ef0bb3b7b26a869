public import CoreMetrics
import Metrics
public import PostgresNIO
import Synchronization

/// The PostgreSQL pool as Almanac's code uses it: connections leased and callers waiting for
/// one, counted where every lease is taken (`PostgresClient.leased`).
///
/// PostgresNIO 1.33 reports its pool's events only to an internal delegate, so the pool cannot
/// be asked; this counts from the callers' side. The LISTEN connections (a client of their own,
/// one connection each, held for good) are not counted.
///
/// - `almanac_db_pool_connections_in_use` (gauge): connections leased right now;
/// - `almanac_db_pool_waiters` (gauge): callers waiting for a connection (the pool is
///   exhausted, or is connecting);
/// - `almanac_db_pool_wait_seconds` (histogram): how long each lease took.
public final class PoolMeter: Sendable {
    /// The meter every lease uses unless told otherwise (one pool per process is served).
    public static let shared = PoolMeter()

    private struct Counts {
        var inUse = 0
        var waiting = 0
    }

    private let counts = Mutex(Counts())
    private let factory: (any MetricsFactory)?

    /// `factory` nil: the process's metrics backend (`MetricsSystem.factory`) at the time of use.
    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory
    }

    /// Connections leased and callers waiting, now.
    public var current: (inUse: Int, waiting: Int) {
        counts.withLock { ($0.inUse, $0.waiting) }
    }

    private func gauge(_ label: String) -> Gauge {
        Gauge(label: label, dimensions: [], factory: factory ?? MetricsSystem.factory)
    }

    /// Changes the counts and records them (under the lock, so the gauges see them in order).
    private func update(_ change: (inout Counts) -> Void) {
        counts.withLock { counts in
            change(&counts)
            gauge("almanac_db_pool_connections_in_use").record(counts.inUse)
            gauge("almanac_db_pool_waiters").record(counts.waiting)
        }
    }

    func waits() { update { $0.waiting += 1 } }

    func leased(after wait: Duration) {
        update {
            $0.waiting -= 1
            $0.inUse += 1
        }
        Timer(label: "almanac_db_pool_wait_seconds", dimensions: [], factory: factory ?? MetricsSystem.factory)
            .recordNanoseconds(wait.nanoseconds)
    }

    func gaveUpWaiting() { update { $0.waiting -= 1 } }

    func released() { update { $0.inUse -= 1 } }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

extension PostgresClient {
    /// `withConnection`, counted by `meter`: every lease of the request pool goes through here.
    nonisolated(nonsending) public func leased<Result: Sendable>(
        meter: PoolMeter = .shared,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let clock = ContinuousClock()
        let asked = clock.now
        meter.waits()
        let got = Mutex(false)
        do {
            return try await withConnection { connection in
                got.withLock { $0 = true }
                meter.leased(after: clock.now - asked)
                defer { meter.released() }
                return try await body(connection)
            }
        } catch {
            if !got.withLock({ $0 }) { meter.gaveUpWaiting() }
            throw error
        }
    }
}
