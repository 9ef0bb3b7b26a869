import API
import ArgumentParser
import Domain
import EventStore
import Foundation
import Logging
import Projector
import Runtime

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate calendars from their events alone, replacing the projection.",
        discussion: "Each calendar is rebuilt in one transaction as a new generation; feed caches reload it."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "Rebuild only this user's calendar.") var user: String?

    func run() async throws {
        let logger = Logger.almanac()
        try await database.withRuntime(logger: logger) { runtime in
            let store = runtime.store
            let services = runtime.services
            let targets: [AuthenticatedUser]
            if let user {
                guard let found = try await services.users.user(named: user) else {
                    throw ArgumentParser.ValidationError("no user named \(user.debugDescription)")
                }
                targets = [found]
            } else {
                targets = try await services.users.all()
            }
            let rebuilder = CalendarRebuilder(store: store)
            let clock = ContinuousClock()
            for (index, target) in targets.enumerated() {
                let start = clock.now
                let state = try await rebuilder.rebuild(user: target.id) { version in
                    print("  \(target.name): \(version) events folded…")
                    fflush(nil)
                }
                print(
                    "[\(index + 1)/\(targets.count)] \(target.name): \(state.todos.count) todos at version \(state.version) in \(clock.now - start)"
                )
                fflush(nil)
            }
        }
    }
}
