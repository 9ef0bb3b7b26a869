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
        try await watched(CloseWatch.of(self)) { try await self.query(query, logger: logger, file: file, line: line) }
    }

    /// Runs `query`, whose text is `Statement.sql`, like `run(_:logger:)`; with `prepared` as the
    /// named prepared statement `Statement.name`: PostgreSQL parses it once per connection (and,
    /// once it settles on a generic plan, plans it once) instead of on every execution. Without
    /// `prepared` (a pooler that does not keep named statements per client: PgBouncer in
    /// transaction mode before 1.21, or without `max_prepared_statements`) it is sent unnamed, as
    /// `run(_:logger:)` sends it.
    ///
    /// PostgresNIO prepares the statement on its first execution on a connection and never
    /// again: should that preparation fail, every later execution of the name on that connection
    /// fails with the same error. So the connection is closed (the pool replaces it) before the
    /// error is rethrown when the error may have come from the preparation, or says the prepared
    /// statement is gone or stale (`invalidatesNamedStatement`).
    @discardableResult
    public func run<Statement: NamedStatement>(
        _ query: PostgresQuery,
        as _: Statement.Type,
        prepared: Bool,
        logger: Logger,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> StatementRows {
        assert(query.sql == Statement.sql, "\(Statement.name) ran with other SQL than its own")
        guard prepared else { return try await run(query, logger: logger, file: file, line: line).map { $0 } }
        let watch = CloseWatch.of(self)
        let isPrepared = watch.isPrepared(Statement.name)
        do {
            let rows = try await watched(watch) {
                let rows = try await self.execute(
                    Prepared<Statement>(binds: query.binds),
                    logger: logger,
                    file: file,
                    line: line
                )
                // Here, not in the caller: it holds even when the caller stopped waiting.
                if !isPrepared { watch.markPrepared(Statement.name) }
                return rows
            } orphaned: { error in
                // The caller stopped waiting (cancelled) before the statement failed: the check
                // below does not run for it, so it runs here, where the failure is known. (The
                // connection went back to the pool with the statement in flight; left open, a
                // failed preparation would fail the name on it for every later caller. One caller
                // that leases it before this close can still get the failure, or a lost connection.)
                await self.closeIfNamedStatementUnusable(
                    after: error,
                    Statement.self,
                    firstExecution: !isPrepared,
                    logger: logger
                )
            }
            return rows
        } catch {
            await closeIfNamedStatementUnusable(
                after: error,
                Statement.self,
                firstExecution: !isPrepared,
                logger: logger
            )
            throw error
        }
    }

    /// Closes the connection (the pool replaces it) when `error` may leave `Statement`'s name
    /// unusable on it (`invalidatesNamedStatement`).
    private func closeIfNamedStatementUnusable<Statement: NamedStatement>(
        after error: any Error,
        _: Statement.Type,
        firstExecution: Bool,
        logger: Logger
    ) async {
        guard Self.invalidatesNamedStatement(error, firstExecution: firstExecution), !isClosed else { return }
        logger.warning(
            "closing a connection whose named statement may be unusable on it",
            metadata: [
                "statement": "\(Statement.name)",
                "sqlstate": "\((error as? PSQLError)?.sqlState ?? "")",
            ]
        )
        try? await close().get()
    }

    /// Whether `error`, thrown by a named statement, may leave that name unusable on its
    /// connection: any server error of the name's first execution there (its preparation may
    /// have failed: a parse in an aborted transaction, a lock timeout while parsing, a
    /// cancellation) except data and integrity errors (classes 22 and 23, which only its
    /// execution raises, such as a unique violation); and on any execution, errors saying the
    /// prepared statement is stale or gone (`0A000`: its result changed shape after a migration;
    /// `26000`, `42P05`: a pooler in front lost or mixed up named statements). Not a
    /// cancellation before the reply or a lost connection: nothing is left to repair.
    static func invalidatesNamedStatement(_ error: any Error, firstExecution: Bool) -> Bool {
        guard let error = error as? PSQLError, let state = error.sqlState else { return false }
        if ["0A000", "26000", "42P05"].contains(state) { return true }
        return firstExecution && !state.hasPrefix("22") && !state.hasPrefix("23")
    }

    /// Runs `start` (a statement on this connection) on the connection's event loop, where it is
    /// written and its reply read, and fails with `ConnectionLost` when the connection closes
    /// first or `CancellationError` when the caller is cancelled, without waiting for it. When
    /// the statement fails after its caller stopped waiting, `orphaned` gets its error (in the
    /// statement's task: PostgresNIO runs a statement to its end whatever the cancellation).
    private func watched<Value: Sendable>(
        _ watch: CloseWatch,
        _ start: @escaping @Sendable () async throws -> Value,
        orphaned: (@Sendable (any Error) async -> Void)? = nil
    ) async throws -> Value {
        if isClosed { throw ConnectionLost() }
        let outcome = FirstOutcome<Value>()
        guard let ticket = watch.add(outcome) else { throw ConnectionLost() }
        defer { watch.remove(ticket) }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard outcome.install(continuation) else { return }
                let statement = Task(executorPreference: watch.executor) {
                    do {
                        outcome.finish(.success(try await start()))
                    } catch {
                        if !outcome.finish(.failure(error)), let orphaned { await orphaned(error) }
                    }
                }
                outcome.onCancel { statement.cancel() }
            }
        } onCancel: {
            outcome.cancel()
        }
    }
}

/// The rows of a statement sent by `run(_:as:prepared:logger:)`.
public typealias StatementRows = AsyncThrowingMapSequence<PostgresRowSequence, PostgresRow>

/// A statement that can be sent as a named prepared statement
/// (`PostgresConnection.run(_:as:prepared:logger:)`): a caseless enum per statement, whose `sql`
/// is taken from the query its one builder makes, so the text is written once.
public protocol NamedStatement: SendableMetatype {
    /// The statement's name on a connection; unique among the process's statements.
    static var name: String { get }
    /// The statement's text, with `$1`... for its values: the `sql` of every query sent as it.
    static var sql: String { get }
}

/// PostgresNIO's form of a named statement: its binds are the query's, its rows are given back
/// undecoded (the callers decode them as they decode an unnamed statement's).
private struct Prepared<Statement: NamedStatement>: PostgresPreparedStatement {
    typealias Row = PostgresRow

    static var name: String { Statement.name }
    static var sql: String { Statement.sql }

    let binds: PostgresBindings

    func makeBindings() -> PostgresBindings { binds }

    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

/// The statements in flight on one connection, failed with `ConnectionLost` together when it
/// closes: one callback on the connection's close future for as long as it lives, instead of one
/// per statement. Callbacks stay on a future until it completes, so a callback per statement kept
/// every statement's outcome and task for the life of the connection (pooled connections live as
/// long as the process): memory grew with every statement ever run.
final class CloseWatch: Sendable {
    private struct State {
        var closed = false
        var nextTicket = 0
        var running: [Int: any Losable] = [:]
        /// The named statements prepared on the connection (`run(_:as:prepared:logger:)`).
        var prepared: Set<String> = []
    }

    private let state = Mutex(State())

    /// The connection's event loop as a task executor (its statements run there).
    let executor: EventLoopExecutor

    private init(executor: EventLoopExecutor) {
        self.executor = executor
    }

    /// The event loop of `connection` as a task executor, made once per connection.
    static func executor(of connection: PostgresConnection) -> EventLoopExecutor {
        of(connection).executor
    }

    private struct Entry: Sendable {
        weak var connection: PostgresConnection?
        let watch: CloseWatch
    }

    /// The watch of every open connection that ran a statement, by identity; an entry leaves when
    /// its connection closes (or, should a connection be freed without closing, at the next sweep).
    private static let watches = Mutex<(entries: [ObjectIdentifier: Entry], sweepAt: Int)>(([:], 64))

    /// The watch of `connection`, made (and hooked to its close future) on its first statement.
    static func of(_ connection: PostgresConnection) -> CloseWatch {
        let key = ObjectIdentifier(connection)
        let (watch, isNew) = watches.withLock { watches -> (CloseWatch, Bool) in
            if let entry = watches.entries[key], entry.connection === connection { return (entry.watch, false) }
            if watches.entries.count >= watches.sweepAt {
                watches.entries = watches.entries.filter { $0.value.connection != nil }
                watches.sweepAt = max(64, watches.entries.count * 2)
            }
            let watch = CloseWatch(executor: EventLoopExecutor(connection.eventLoop))
            watches.entries[key] = Entry(connection: connection, watch: watch)
            return (watch, true)
        }
        if isNew {
            // On a connection already closed, runs soon on its event loop (not at once): until
            // then `add` accepts statements, and `close` fails them with the rest.
            connection.closeFuture.whenComplete { _ in
                watch.close()
                watches.withLock { watches in
                    if watches.entries[key]?.watch === watch { watches.entries[key] = nil }
                }
            }
        }
        return watch
    }

    /// Whether `connection` has a watch (a test checks that a closed one leaves).
    static func isWatching(_ connection: PostgresConnection) -> Bool {
        watches.withLock { $0.entries[ObjectIdentifier(connection)]?.connection === connection }
    }

    /// Registers a statement; nil when the connection has closed.
    func add(_ outcome: some Losable) -> Int? {
        state.withLock { state -> Int? in
            guard !state.closed else { return nil }
            state.nextTicket += 1
            state.running[state.nextTicket] = outcome
            return state.nextTicket
        }
    }

    func remove(_ ticket: Int) {
        _ = state.withLock { $0.running.removeValue(forKey: ticket) }
    }

    func isPrepared(_ name: String) -> Bool {
        state.withLock { $0.prepared.contains(name) }
    }

    func markPrepared(_ name: String) {
        _ = state.withLock { $0.prepared.insert(name) }
    }

    private func close() {
        let running = state.withLock { state -> [any Losable] in
            state.closed = true
            defer { state.running = [:] }
            return Array(state.running.values)
        }
        for outcome in running { outcome.lose() }
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

/// A statement's outcome as its connection's close sees it.
protocol Losable: Sendable {
    /// Fails the statement with `ConnectionLost` (unless it has its outcome already).
    func lose()
}

extension FirstOutcome: Losable {
    func lose() { finish(.failure(ConnectionLost())) }
}

/// How many `FirstOutcome`s exist (statements running, or anything still holding one): a test
/// checks that finished statements free theirs.
private let aliveOutcomes = Atomic<Int>(0)

/// Resumes one continuation with the first of several results given (a statement's rows, its
/// connection's close, the caller's cancellation; a shared task's value or the caller's
/// cancellation); a result given before the continuation is installed resumes it at once.
package final class FirstOutcome<Value: Sendable>: Sendable {
    static var aliveCount: Int { aliveOutcomes.load(ordering: .relaxed) }

    package init() { aliveOutcomes.add(1, ordering: .relaxed) }

    deinit { aliveOutcomes.subtract(1, ordering: .relaxed) }

    private struct State {
        var continuation: CheckedContinuation<Value, any Error>?
        var pending: Result<Value, any Error>?
        var done = false
        var cancelStatement: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Waits with `continuation`; false when the outcome is already known (cancelled before
    /// the statement started), in which case the continuation has been resumed.
    package func install(_ continuation: CheckedContinuation<Value, any Error>) -> Bool {
        let early = state.withLock { state -> Result<Value, any Error>? in
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

    /// Delivers `result` unless an outcome came first (a cancellation, a lost connection);
    /// false when it was not delivered (nobody waits for it).
    @discardableResult
    package func finish(_ result: Result<Value, any Error>) -> Bool {
        let (continuation, delivered) = state.withLock { state -> (CheckedContinuation<Value, any Error>?, Bool) in
            guard !state.done else { return (nil, false) }
            guard let continuation = state.continuation else {
                guard state.pending == nil else { return (nil, false) }
                state.pending = result
                return (nil, true)
            }
            state.done = true
            state.continuation = nil
            return (continuation, true)
        }
        continuation?.resume(with: result)
        return delivered
    }

    func cancel() {
        let cancel = state.withLock { $0.cancelStatement }
        cancel?()
        finish(.failure(CancellationError()))
    }
}
