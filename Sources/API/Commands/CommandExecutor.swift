public import Domain
public import EventStore
import Logging
public import PostgresNIO

/// Runs a command against one user's stream: in one transaction it reads the stream version,
/// decides the events, appends them with that expected version and updates the todo list.
///
/// The stream row is locked while deciding (so commands of one user queue instead of failing);
/// the append still checks the version, and a `VersionConflict` is retried a few times, then 409.
public struct CommandExecutor: Sendable {
    public let store: EventStore
    public let todos: TodoTable
    public var idempotency: IdempotencyTable
    public var maxAttempts = 5

    public init(store: EventStore, todos: TodoTable) {
        self.store = store
        self.todos = todos
        self.idempotency = IdempotencyTable(client: store.client, logger: store.logger)
    }

    var logger: Logger { store.logger }

    /// How many todos a command may touch and still run on its connection's event loop
    /// (`EventStore.withTransactionOnConnectionLoop`): a create, an edit or a small completion is
    /// a few round trips and microseconds of work, run where the replies are read; a bulk
    /// completion of thousands loads, decodes and encodes for tens to hundreds of milliseconds,
    /// which would hold up every other channel of that loop, so it runs on the cooperative pool.
    public static let loopBoundTodos = 100

    /// `decide` gets the connection (inside the transaction) and the current version, and returns
    /// the events to append plus the command's result. With `onConnectionLoop` (the default; pass
    /// false for a command that touches more than `loopBoundTodos` todos) the transaction runs on
    /// the connection's event loop.
    public func execute<Result: Sendable>(
        user: Int64,
        onConnectionLoop: Bool = true,
        _ decide: @Sendable (PostgresConnection, Int64) async throws -> ([TodoEvent], Result)
    ) async throws -> Result {
        try await execute(user: user, onConnectionLoop: onConnectionLoop) { connection, version, _ in
            try await decide(connection, version)
        }
    }

    /// Like `execute(user:onConnectionLoop:_:)`, for a command that reads todos: what it reads
    /// with `TodoTable.load(user:ids:into:on:)` into the `TodoTable.Read` it is given is where
    /// the inline projection starts (an edit or a completion reads its todos once, not twice).
    public func execute<Result: Sendable>(
        user: Int64,
        onConnectionLoop: Bool = true,
        _ decide: @Sendable (PostgresConnection, Int64, inout TodoTable.Read) async throws -> ([TodoEvent], Result)
    ) async throws -> Result {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let transaction = { @Sendable (connection: PostgresConnection) async throws -> (Int, Result) in
                    let version = try await store.version(of: user, on: connection, lock: true)
                    var read = TodoTable.Read()
                    let (events, result) = try await decide(connection, version, &read)
                    try await append(events, user: user, expectedVersion: version, read: read, on: connection)
                    return (events.count, result)
                }
                // On the connection's event loop: seven round trips without a thread switch each.
                let (appended, result) =
                    onConnectionLoop
                    ? try await store.withTransactionOnConnectionLoop(transaction)
                    : try await store.withTransaction(transaction)
                StoreMetrics.appended(appended)
                return result
            } catch let conflict as VersionConflict {
                guard attempt < maxAttempts else {
                    logger.warning("command gave up after conflicts", metadata: ["conflict": "\(conflict)"])
                    throw conflict
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << attempt))))
            }
        }
    }

    /// A write under an `Idempotency-Key`: the request as keyed, and how its result is answered.
    public struct Keyed<Result: Sendable>: Sendable {
        public var request: IdempotencyTable.Request
        public var answer: @Sendable (Result) -> IdempotencyTable.Answer

        public init(
            _ request: IdempotencyTable.Request,
            answer: @escaping @Sendable (Result) -> IdempotencyTable.Answer
        ) {
            self.request = request
            self.answer = answer
        }
    }

    /// What a keyed write did: wrote now, or found the answer of an earlier request with its key.
    public enum Executed<Result: Sendable>: Sendable {
        case done(Result)
        case replayed(IdempotencyTable.Answer)

        /// The result of a write done now (every unkeyed write); nil for a replay.
        public var done: Result? {
            guard case .done(let result) = self else { return nil }
            return result
        }
    }

    /// Runs a command like `execute(user:_:)`, but under an idempotency key when `keyed` is given:
    /// with the stream row locked, an earlier answer to the key is returned instead of deciding
    /// again (`IdempotencyTable.KeyReused` when the key came with another request), and a new
    /// answer is saved in the write's transaction.
    public func execute<Result: Sendable>(
        user: Int64,
        keyed: Keyed<Result>?,
        onConnectionLoop: Bool = true,
        _ decide:
            @escaping @Sendable (PostgresConnection, Int64, inout TodoTable.Read) async throws -> (
                [TodoEvent], Result
            )
    ) async throws -> Executed<Result> {
        guard let keyed else { return .done(try await execute(user: user, onConnectionLoop: onConnectionLoop, decide)) }
        let idempotency = self.idempotency
        return try await execute(user: user, onConnectionLoop: onConnectionLoop) {
            connection,
            version,
            read -> ([TodoEvent], Executed<Result>) in
            if let answer = try await idempotency.answer(user: user, for: keyed.request, on: connection) {
                return ([], .replayed(answer))
            }
            let (events, result) = try await decide(connection, version, &read)
            try await idempotency.save(user: user, keyed.request, answer: keyed.answer(result), on: connection)
            return (events, .done(result))
        }
    }

    /// Appends domain events and applies them to the todo list in the caller's transaction;
    /// `read` holds the todos already read in it (see `TodoTable.Read`).
    public func append(
        _ events: [TodoEvent],
        user: Int64,
        expectedVersion: Int64,
        read: TodoTable.Read = TodoTable.Read(),
        on connection: PostgresConnection
    ) async throws {
        guard !events.isEmpty else { return }
        let todos = self.todos
        _ = try await store.append(
            stream: user,
            expectedVersion: expectedVersion,
            events: events.map { NewEvent(type: $0.type, data: EventCoding.encode($0)) },
            on: connection,
            inline: { _, connection in try await todos.apply(events, user: user, read: read, on: connection) }
        )
    }
}
