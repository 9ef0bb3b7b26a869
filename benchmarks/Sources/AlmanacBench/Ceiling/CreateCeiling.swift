import API
import Domain
import EventStore
import Foundation
import PostgresNIO
import Workload

/// The raw PostgreSQL ceiling of a create: pgbench runs the statements of `POST /api/v1/todos`
/// (one transaction: the stream head locked `FOR UPDATE`, the last todo id read, one statement
/// that advances the head, inserts the event and notifies, the todo row upserted, `last_todo_id`
/// raised, commit: seven statements; the API key is looked up once per process, then remembered
/// by `KnownAPIKeys`, so a steady stream of creates sends no lookup), as the API sends them, against
/// tables made by Almanac's own migrations in a database of their own (`almanac_ceiling`) in the
/// harness's cluster. The statements are written again here in pgbench's syntax (`:user`,
/// `\gset`): a change to `EventStore.append` or `TodoTable.apply` must be made here too.
/// pgbench sends them as the API does: named prepared statements (`-M prepared`) when the API
/// prepares its write statements (`--prepared-statements on`), unnamed (`-M extended`) otherwise;
/// unlike the API it prepares BEGIN and COMMIT too and writes the event's values as literals.
struct CreateCeiling {
    static let database = "almanac_ceiling"

    let pgbench: String
    let psql: String
    let url: String
    let directory: URL
    let users: Int
    /// pgbench's query mode: `prepared` or `extended`.
    let queryMode: String

    /// Creates the database and its tables; nil (with the reason) when pgbench or psql is missing.
    static func prepare(
        server: BenchServer.Running,
        users: Int,
        directory: URL
    ) async throws -> CreateCeiling {
        guard let pgbench = PostgresTools.find("pgbench"), let psql = PostgresTools.find("psql") else {
            throw BenchError("pgbench or psql not found (they come with PostgreSQL)")
        }
        let store = server.services.store
        try await store.client.query("DROP DATABASE IF EXISTS almanac_ceiling", logger: store.logger)
        try await store.client.query("CREATE DATABASE almanac_ceiling", logger: store.logger)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = PostgresTools.url(server.databaseURL, database: database)
        // The tables of a create, exactly as the migrations make them.
        let migrations = Self.rootDirectory.appendingPathComponent("Sources/EventStore/Migrations")
        var setup = ""
        for file in ["0001_event_store.sql", "0002_users_and_todos.sql", "0008_event_trace_context.sql"] {
            setup += try String(contentsOf: migrations.appendingPathComponent(file), encoding: .utf8) + "\n"
        }
        setup += """
            INSERT INTO users (id, name, api_key_hash)
                SELECT i, 'ceiling-' || i, sha256(i::text::bytea) FROM generate_series(1, \(users)) AS i;
            INSERT INTO streams (stream_id, version) SELECT i, 1 FROM generate_series(1, \(users)) AS i;
            VACUUM ANALYZE;

            """
        let setupFile = directory.appendingPathComponent("setup.sql")
        try Data(setup.utf8).write(to: setupFile)
        _ = try await Wrk.launch(psql, ["-q", "-X", "-v", "ON_ERROR_STOP=1", "-f", setupFile.path, url])
        let ceiling = CreateCeiling(
            pgbench: pgbench,
            psql: psql,
            url: url,
            directory: directory,
            users: users,
            queryMode: store.preparedStatements ? "prepared" : "extended"
        )
        try Data(try ceiling.script().utf8).write(to: ceiling.scriptFile)
        return ceiling
    }

    /// The checkout this harness was built from (the migrations are read from its sources).
    static var rootDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    var scriptFile: URL { directory.appendingPathComponent("create.sql") }

    /// The pgbench script: client c writes as user c % `users` + 1 (the harness's client i writes
    /// as user i % users). Event and todo as a create of the workload's corpus encodes them.
    func script() throws -> String {
        var random = SplitMix64(seed: 12)
        let new = CalendarCorpus.newTodo(&random)
        let at = Timestamp(microseconds: 1_767_225_600_000_000)
        let deadline = try new.deadline.map { try Deadline(parsing: $0) }
        let events = TodoCommands.create(
            try NewTodo(title: new.title, description: new.description, deadline: deadline),
            id: 1,
            uid: "00000000-0000-4000-8000-000000000000",
            at: at
        )
        let payload = String(decoding: EventCoding.encode(events[0]), as: UTF8.self)
        let todo: Todo? = {
            guard case .todoCreated(let created) = events[0] else { return nil }
            return Todo(created: created)
        }()
        let rawDeadline = todo?.deadline?.raw ?? ""
        let uid = todo?.uid ?? ""
        return """
            \\set user :client_id % \(users) + 1
            BEGIN;
            SELECT version AS v FROM streams WHERE stream_id = :user FOR UPDATE \\gset
            SELECT last_todo_id + 1 AS id FROM users WHERE id = :user \\gset
            WITH head AS (UPDATE streams SET version = :v::int8 + 1 WHERE stream_id = :user AND version = :v::int8 RETURNING version), inserted AS (INSERT INTO events (stream_id, version, event_id, type, data, trace_context) SELECT :user::int8, v, e, t, d::jsonb, NULLIF('', '')::jsonb FROM unnest(ARRAY[:v::int8 + 1]::int8[], ARRAY[gen_random_uuid()]::uuid[], ARRAY[\(Self.literal(events[0].type))]::text[], ARRAY[\(Self.literal(payload))]::text[]) AS x(v, e, t, d) WHERE EXISTS (SELECT 1 FROM head) RETURNING *), notified AS MATERIALIZED (SELECT pg_notify(\(Self.literal(Channels.events)), :user::text)) SELECT position, txid::text, stream_id, version, event_id, type, data::text, (extract(epoch FROM recorded_at) * 1000000)::int8, trace_context::text FROM inserted CROSS JOIN notified;
            INSERT INTO todos (user_id, todo_id, uid, title, description, completed, completed_at, deadline_at, deadline_local, deadline_utc, created_at, updated_at, revision) SELECT :user::int8, id, uid, title, descr, done, NULLIF(done_at, \(Int64.min)), NULLIF(deadline, ''), NULLIF(local, '')::timestamp, NULLIF(utc, '')::timestamptz, created, updated, rev FROM unnest(ARRAY[:id::int8]::int8[], ARRAY[\(Self.literal(uid))]::text[], ARRAY[\(Self.literal(todo?.title ?? ""))]::text[], ARRAY[\(Self.literal(todo?.description ?? ""))]::text[], ARRAY[false]::bool[], ARRAY[\(Int64.min)]::int8[], ARRAY[\(Self.literal(rawDeadline))]::text[], ARRAY[\(Self.literal(Self.local(rawDeadline)))]::text[], ARRAY['']::text[], ARRAY[\(at.microseconds)]::int8[], ARRAY[\(at.microseconds)]::int8[], ARRAY[1]::int4[]) AS x(id, uid, title, descr, done, done_at, deadline, local, utc, created, updated, rev) ON CONFLICT (user_id, todo_id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description, completed = EXCLUDED.completed, completed_at = EXCLUDED.completed_at, deadline_at = EXCLUDED.deadline_at, deadline_local = EXCLUDED.deadline_local, deadline_utc = EXCLUDED.deadline_utc, updated_at = EXCLUDED.updated_at, revision = EXCLUDED.revision;
            UPDATE users SET last_todo_id = GREATEST(last_todo_id, :id::int8) WHERE id = :user;
            COMMIT;

            """
    }

    /// A naive deadline as a timestamp literal (date-only deadlines at midnight); empty otherwise.
    static func local(_ deadline: String) -> String {
        guard !deadline.isEmpty, !deadline.hasSuffix("Z"),
            !deadline.dropFirst(10).contains(where: { $0 == "+" || $0 == "-" })
        else { return "" }
        return deadline.count == 10 ? deadline + "T00:00:00" : deadline
    }

    /// A string literal pgbench leaves alone: it takes every `:name` for a variable, so colons
    /// travel as the escape `\x3a` of an E'' literal (decoded by PostgreSQL's parser).
    static func literal(_ text: String) -> String {
        var out = "E'"
        for character in text {
            switch character {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case ":": out += "\\x3a"
            default: out.append(character)
            }
        }
        return out + "'"
    }

    struct Run: Sendable {
        var transactionsPerSecond: Double
        var failed: Int
        /// "number of transactions actually processed" (nil when pgbench did not say).
        var processed: Int?
    }

    /// One pgbench run of `clients` clients (as many threads) for `seconds`.
    func run(clients: Int, seconds: Int) async throws -> Run {
        let output = try await PostgresTools.launch(
            pgbench,
            [
                "-n", "-M", queryMode, "-f", scriptFile.path, "-c", "\(clients)", "-j", "\(clients)",
                "-T", "\(seconds)", url,
            ]
        )
        var run = Run(transactionsPerSecond: .nan, failed: 0, processed: nil)
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if line.hasPrefix("tps = "), fields.count >= 3, let value = Double(fields[2]) {
                run.transactionsPerSecond = value
            } else if line.hasPrefix("number of failed transactions:"), fields.count >= 5, let value = Int(fields[4]) {
                run.failed = value
            } else if line.hasPrefix("number of transactions actually processed:"), fields.count >= 6 {
                // "number of transactions actually processed: 2301" (or "2301/2400" with -t).
                run.processed = Int(fields[5].split(separator: "/")[0])
            }
        }
        guard run.transactionsPerSecond.isFinite else {
            throw BenchError("could not read pgbench's output:\n\(output)")
        }
        return run
    }
}
