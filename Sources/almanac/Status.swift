import ArgumentParser
import EventStore
import Foundation
import Logging
import PostgresNIO
import Projector
import Runtime

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Print the state of the database: checkpoints and their lag, jobs, counts, the oldest open transaction.",
        discussion: """
            Reads only (no migration is applied). Each checkpoint's lag is the number of events after it \
            and the age of the oldest of them (0 when caught up). The oldest open transaction that holds a \
            transaction id holds the gap-safe readers (projector, relay) back: nothing committed after it \
            is read until it ends.
            """
    )

    @OptionGroup var database: DatabaseOptions

    @Flag(help: "Print JSON (for scripts) instead of text.") var json = false

    func run() async throws {
        let logger = Logger.almanac()
        let report = try await database.withRuntime(logger: logger, migrate: false) { runtime in
            try await StatusReport.read(runtime.store, logger: logger)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.text, terminator: "")
        }
    }
}

/// What `almanac status` prints; each figure comes from the type that owns its table.
struct StatusReport: Codable {
    struct Migrations: Codable {
        var bundled: Int
        var applied: Int
        var pending: [String]
    }

    struct Checkpoint: Codable {
        var name: String
        var txid: String
        var position: Int64
        var savedSecondsAgo: Double
        var lagEvents: Int64
        var lagSeconds: Double
    }

    struct OpenTransaction: Codable {
        var pid: Int32
        var applicationName: String
        var state: String
        var ageSeconds: Double
        var xidAge: Int64
        var xminAge: Int64?
    }

    var migrations: Migrations
    var events: Int64
    var users: Int
    var calendars: Int
    /// Jobs by status (every status listed, 0 when none).
    var jobs: [String: Int]
    var checkpoints: [Checkpoint]
    /// The open writing transaction that took its id first; nil when none.
    var oldestOpenTransaction: OpenTransaction?

    struct NotMigrated: Error, CustomStringConvertible {
        var description: String { "the database has no Almanac schema yet: run almanac migrate" }
    }

    static func read(_ store: EventStore, logger: Logger) async throws -> StatusReport {
        let migrator = try Migrator.bundled()
        let (pending, checkpoints, calendars) = try await store.client.withConnection { connection in
            let pending = try await migrator.pending(on: connection, logger: logger)
            guard pending.count < migrator.migrations.count else { throw NotMigrated() }
            return (
                pending,
                try await Checkpoints.all(on: connection, logger: logger),
                try await CalendarStore(logger: logger).count(on: connection)
            )
        }
        var jobs = try await JobTable(client: store.client, logger: logger).countsByStatus()
        for status in ["PENDING", "STARTED", "SUCCESS", "FAILURE"] where jobs[status] == nil { jobs[status] = 0 }
        let oldest = try await store.oldestOpenTransaction()
        return StatusReport(
            migrations: Migrations(
                bundled: migrator.migrations.count,
                applied: migrator.migrations.count - pending.count,
                pending: pending.map(\.name)
            ),
            events: try await store.eventCount(),
            users: try await UserTable(client: store.client, logger: logger).count(),
            calendars: calendars,
            jobs: jobs,
            checkpoints: checkpoints.map {
                Checkpoint(
                    name: $0.name,
                    txid: String($0.cursor.txid),
                    position: $0.cursor.position,
                    savedSecondsAgo: $0.savedSecondsAgo,
                    lagEvents: $0.lag.events,
                    lagSeconds: $0.lag.seconds
                )
            },
            oldestOpenTransaction: oldest.map {
                OpenTransaction(
                    pid: $0.pid,
                    applicationName: $0.applicationName,
                    state: $0.state,
                    ageSeconds: $0.ageSeconds,
                    xidAge: $0.xidAge,
                    xminAge: $0.xminAge
                )
            }
        )
    }

    var text: String {
        func seconds(_ value: Double) -> String { String(format: "%.1f s", value) }
        var out = "Migrations:  \(migrations.applied) of \(migrations.bundled) applied"
        out += migrations.pending.isEmpty ? "\n" : " (pending: \(migrations.pending.joined(separator: ", ")))\n"
        out += "Events:      \(events)\nUsers:       \(users)\nCalendars:   \(calendars)\n"
        out += "Jobs:        " + jobs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        out += "\nCheckpoints:" + (checkpoints.isEmpty ? " none\n" : "\n")
        for checkpoint in checkpoints {
            out +=
                "  \(checkpoint.name): lag \(checkpoint.lagEvents) events, \(seconds(checkpoint.lagSeconds)); "
                + "at (\(checkpoint.txid), \(checkpoint.position)), saved \(seconds(checkpoint.savedSecondsAgo)) ago\n"
        }
        out += "Oldest open transaction: "
        if let transaction = oldestOpenTransaction {
            let name = transaction.applicationName.isEmpty ? "" : " (\(transaction.applicationName))"
            out +=
                "pid \(transaction.pid)\(name), \(transaction.state), open \(seconds(transaction.ageSeconds)), "
                + "xid age \(transaction.xidAge)" + (transaction.xminAge.map { ", xmin age \($0)" } ?? "") + "\n"
        } else {
            out += "none\n"
        }
        return out
    }
}
