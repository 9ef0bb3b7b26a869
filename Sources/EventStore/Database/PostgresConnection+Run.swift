public import Logging
public import PostgresNIO
import Synchronization

/// The connection closed before a statement completed (the server restarted, failed over or
/// dropped it): the statement's outcome is unknown if it was a COMMIT.
public struct ConnectionLost: Error, Sendable, CustomStringConvertible {
    public init() {}

    public var description: String { "the database connection was lost" }
}

extension PostgresConnection {
    /// Runs `query` like `query(_:logger:)`, but fails with `ConnectionLost` when the
    /// connection closes first.
    ///
    /// PostgresNIO 1.33 loses a statement written to a connection the server has just closed
    /// (the write fails without completing the statement), so a plain `query` waits forever: a
    /// database restart under load froze every loop that happened to be between statements of a
    /// transaction. The statement runs in a child task that is abandoned if the connection closes
    /// first; what it holds belongs to a closed connection.
    @discardableResult
    public func run(
        _ query: PostgresQuery,
        logger: Logger,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> PostgresRowSequence {
        if isClosed { throw ConnectionLost() }
        let outcome = Outcome()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard outcome.install(continuation) else { return }
                let statement = Task {
                    do {
                        outcome.finish(.success(try await self.query(query, logger: logger, file: file, line: line)))
                    } catch {
                        outcome.finish(.failure(error))
                    }
                }
                outcome.onCancel { statement.cancel() }
                closeFuture.whenComplete { _ in outcome.finish(.failure(ConnectionLost())) }
            }
        } onCancel: {
            outcome.cancel()
        }
    }
}

extension PostgresClient {
    /// Runs `query` on a pooled connection with `PostgresConnection.run` and returns its rows,
    /// read whole before the connection goes back to the pool.
    ///
    /// Use it instead of `PostgresClient.query`, which writes the statement to the leased
    /// connection without watching it: on a connection the server has just closed (a restart,
    /// `pg_ctl stop`) the statement is lost and the call waits forever, deaf to cancellation. A
    /// request stuck there outlived its deadline and held up the server's graceful shutdown (the
    /// campaign's PostgreSQL-stop test); this fails with `ConnectionLost` instead.
    @discardableResult
    public func run(
        _ query: PostgresQuery,
        logger: Logger,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> CollectedRows {
        try await leased { connection in
            var rows: [PostgresRow] = []
            for try await row in try await connection.run(query, logger: logger, file: file, line: line) {
                rows.append(row)
            }
            return CollectedRows(rows: rows)
        }
    }

    /// Runs a `DELETE … RETURNING` and returns how many rows it deleted (expiry of old rows).
    func deleteCounting(_ query: PostgresQuery, logger: Logger) async throws -> Int {
        try await run(query, logger: logger).rows.count
    }
}

/// The rows of a statement, read whole (`PostgresClient.run`); iterated and decoded like a
/// `PostgresRowSequence`.
public struct CollectedRows: AsyncSequence, Sendable {
    public typealias Element = PostgresRow
    public let rows: [PostgresRow]

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[PostgresRow]>

        public mutating func next() async throws -> PostgresRow? { base.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: rows.makeIterator()) }

    /// The rows decoded as `type`, in order.
    public func decode<each Column: PostgresDecodable & SendableMetatype>(
        _: (repeat each Column).Type,
        file: String = #fileID,
        line: Int = #line
    ) -> AsyncThrowingMapSequence<CollectedRows, (repeat each Column)> {
        map { try $0.decode((repeat each Column).self, file: file, line: line) }
    }
}

/// The first of: the statement's result, the connection's close, the caller's cancellation.
private final class Outcome: Sendable {
    private struct State {
        var continuation: CheckedContinuation<PostgresRowSequence, any Error>?
        var pending: Result<PostgresRowSequence, any Error>?
        var done = false
        var cancelStatement: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Waits with `continuation`; false when the outcome is already known (cancelled before
    /// the statement started), in which case the continuation has been resumed.
    func install(_ continuation: CheckedContinuation<PostgresRowSequence, any Error>) -> Bool {
        let early = state.withLock { state -> Result<PostgresRowSequence, any Error>? in
            if let pending = state.pending {
                state.done = true
                return pending
            }
            state.continuation = continuation
            return nil
        }
        guard let early else { return true }
        continuation.resume(with: early)
        return false
    }

    func onCancel(_ cancel: @escaping @Sendable () -> Void) {
        state.withLock { $0.cancelStatement = cancel }
    }

    func finish(_ result: Result<PostgresRowSequence, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<PostgresRowSequence, any Error>? in
            guard !state.done else { return nil }
            guard let continuation = state.continuation else {
                if state.pending == nil { state.pending = result }
                return nil
            }
            state.done = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }

    func cancel() {
        let cancel = state.withLock { $0.cancelStatement }
        cancel?()
        finish(.failure(CancellationError()))
    }
}
