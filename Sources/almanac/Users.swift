import API
import ArgumentParser
import Logging
import Runtime

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
            try await database.withRuntime(logger: logger) { runtime in
                let created = try await runtime.services.users.create(name: name)
                print("Created user \(created.user.name) (id \(created.user.id)).")
                print("API key (shown once, store it now): \(created.apiKey)")
            }
        }
    }
}
