import API
import ArgumentParser
import EventStore
import Logging

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage users.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user and print its API key (shown once).")

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The user's unique name.") var name: String

        func run() async throws {
            let logger = Logger.almanac()
            try await database.withDatabase(logger: logger) { client in
                try await Migrator.bundled().migrate(client: client, logger: logger)
                let services = AlmanacServices(store: EventStore(client: client, logger: logger))
                do {
                    let created = try await services.users.create(name: name)
                    print("Created user \(created.user.name) (id \(created.user.id)).")
                    print("API key (shown once, store it now): \(created.apiKey)")
                } catch let error as APIError {
                    throw ValidationError(error.message)
                }
            }
        }
    }
}
