import ArgumentParser
import EventStore
import Logging
import Runtime

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the database migrations that are missing.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = Logger.almanac()
        try await database.withRuntime(logger: logger, migrate: false) { runtime in
            let applied = try await Migrator.bundled().migrate(client: runtime.store.client, logger: logger)
            print(applied.isEmpty ? "Database is up to date." : "Applied: \(applied.joined(separator: ", "))")
        }
    }
}
