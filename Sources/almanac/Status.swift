import ArgumentParser
import Foundation
import Logging
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
        let report = try await database.withRuntime(logger: logger, migrate: false) { try await $0.status() }
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

extension DatabaseStatus {
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
