import ArgumentParser

@main
struct Almanac: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "almanac",
        abstract: "Event-sourced todo lists with incrementally projected iCalendar feeds.",
        subcommands: [
            Serve.self, Migrate.self, Status.self, Users.self, Rebuild.self, Relay.self, Project.self, DevKafka.self,
            Queue.self,
            AWSSetup.self,
        ],
        defaultSubcommand: Serve.self
    )
}
