import API
import ArgumentParser
import Bus
import CoreMetrics
import Foundation

@main
struct AlmanacBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "almanac-bench",
        abstract:
            "Benchmarks of Almanac: full regeneration versus incremental projection, feed serving, writes, Kafka and SNS/SQS fan-out, memory, rebuild.",
        discussion:
            "Starts its own private PostgreSQL and the API in-process. Progress goes to stderr, the table to stdout."
    )

    @Flag(help: "The preset that finishes in under 5 minutes on 2 cores (fewer repetitions, shorter load runs).")
    var quick = false

    @Option(help: "Scenarios to run, comma-separated: component, e2e, feed, writes, kafka, sqs, memory, rebuild.")
    var scenarios: String?

    @Option(help: "Calendar sizes N, comma-separated.")
    var sizes: String?

    @Option(help: "Bulk completion sizes k, comma-separated.")
    var ks: String?

    @Option(help: "Measured repetitions of each component and end-to-end point (after one warm-up).")
    var repetitions: Int?

    @Option(help: "Measured repetitions of each full job.")
    var fullJobRepetitions: Int?

    @Option(help: "Runs of each throughput measurement (feed serving, creates).")
    var throughputRuns: Int?

    @Option(help: "Seconds of each throughput run.")
    var throughputSeconds: Int?

    @Option(help: "N of the feed-serving scenario.")
    var feedSize: Int?

    @Option(help: "Concurrent keep-alive connections of the feed-serving scenario.")
    var feedConnections: Int?

    @Option(help: "wrk threads of the feed-serving scenario.")
    var wrkThreads: Int?

    @Flag(help: "Skip the PostgreSQL ceiling of a create (pgbench) in the writes scenario.")
    var noWriteCeiling = false

    @Flag(help: "Skip nginx serving the same feed as a static file in the feed scenario.")
    var noNginx = false

    @Option(help: "Users of the memory scenario, each with --memory-user-todos todos, cached with the largest N.")
    var memoryUsers: Int?

    @Option(help: "Todos of each user of the memory scenario.")
    var memoryUserTodos: Int?

    @Option(help: "Events of the rebuild scenario's log (appended to one user's stream, then rebuilt).")
    var rebuildEvents: Int?

    @Option(help: "Timed rebuilds of the rebuild scenario's log.")
    var rebuildRepetitions: Int?

    @Option(help: "Milliseconds of idle time before each end-to-end write.")
    var pauseMs: Int?

    @Option(help: "Calendar sizes N of the Kafka scenario's end-to-end part, comma-separated.")
    var kafkaSizes: String?

    @Option(help: "Bulk completion sizes k of the Kafka scenario's end-to-end part, comma-separated.")
    var kafkaKs: String?

    @Option(help: "Events the relay publishes in each throughput run of the Kafka scenario.")
    var kafkaRelayEvents: Int?

    @Option(help: "Partitions of the Kafka topics (librdkafka's mock cluster, 3 brokers).")
    var kafkaPartitions: Int?

    @Option(help: "fetch.wait.max.ms of the consumer (the mock broker holds an empty fetch this long).")
    var kafkaFetchWaitMs: Int?

    @Option(
        name: .customLong("kafka-setting"),
        help: "Raw librdkafka setting key=value for the relay's producer and the projector's consumer, repeatable."
    )
    var kafkaSettings: [String] = []

    @Option(help: "Calendar sizes N of the SQS scenario's end-to-end part, comma-separated.")
    var sqsSizes: String?

    @Option(help: "Bulk completion sizes k of the SQS scenario's end-to-end part, comma-separated.")
    var sqsKs: String?

    @Option(help: "Events of each backlog of the SQS scenario's throughput runs.")
    var sqsRelayEvents: Int?

    @Option(help: "SQS queue kinds of the SQS scenario, comma-separated: standard, fifo.")
    var sqsQueues: String?

    @Option(
        help: """
            SNS and SQS endpoint of the sqs scenario, e.g. http://127.0.0.1:54393 (benchmarks/run starts moto_server \
            and passes it); without it the sqs scenario runs only when named, and then fails.
            """
    )
    var awsEndpoint: String?

    @Option(help: "Directory for results.json, results.csv, results.md and plot.svg.")
    var output: String = "results"

    @Option(help: "Directory of the private PostgreSQL cluster (wiped at start). Default: <output>/tmp/postgres.")
    var postgresDir: String?

    @Option(help: "Loopback port of the private PostgreSQL.")
    var postgresPort: Int = 54_391

    @Option(help: "Loopback port of the in-process API.")
    var httpPort: Int = 6_491

    @Option(help: "PostgreSQL connections of the API (almanac serve's default is 20).")
    var dbPoolSize: Int = 20

    @Option(help: "Milliseconds between polls of an idle job worker, which also wakes on NOTIFY (almanac serve: 500).")
    var jobPollMs: Int = 500

    @Option(help: "zlib level 1-9 of the API's cached gzip feeds (almanac serve --feed-gzip-level; default 6).")
    var feedGzipLevel: Int = 6

    @Option(
        help: """
            on: the API sends its write statements as named prepared statements and the ceiling's pgbench runs \
            with -M prepared; off: both unnamed (-M extended) (almanac serve --prepared-statements; default on).
            """
    )
    var preparedStatements: String = "on"

    func validate() throws {
        _ = try plan()
        guard ["on", "off"].contains(preparedStatements) else {
            throw ValidationError("--prepared-statements must be on or off")
        }
        guard APIConfiguration.feedGzipLevels.contains(feedGzipLevel) else {
            throw ValidationError("--feed-gzip-level must be 1...9")
        }
    }

    func plan() throws -> Plan {
        var plan = Plan.standard(quick: quick)
        if let scenarios {
            var chosen = Set<Plan.Scenario>()
            for name in scenarios.split(separator: ",") {
                guard let scenario = Plan.Scenario(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError(
                        "unknown scenario \(name); use component, e2e, feed, writes, kafka, sqs, memory, rebuild"
                    )
                }
                chosen.insert(scenario)
            }
            plan.scenarios = chosen
        }
        plan.awsEndpoint = awsEndpoint
        if let awsEndpoint, AWSEndpoint(url: awsEndpoint) == nil {
            throw ValidationError("--aws-endpoint takes scheme://host:port, not \(awsEndpoint)")
        }
        if awsEndpoint == nil, plan.scenarios.contains(.sqs) {
            // Every scenario by default: the sqs one only where an endpoint was given.
            guard scenarios == nil else {
                throw ValidationError("the sqs scenario needs --aws-endpoint (benchmarks/run starts moto_server)")
            }
            plan.scenarios.remove(.sqs)
        }
        if let sizes { plan.sizes = try Self.integers(sizes, "--sizes") }
        if let ks { plan.ks = try Self.integers(ks, "--ks") }
        if let repetitions {
            guard repetitions >= 1 else { throw ValidationError("--repetitions must be at least 1") }
            plan.componentRepetitions = repetitions
            plan.endToEndRepetitions = repetitions
        }
        if let fullJobRepetitions { plan.fullJobRepetitions = max(1, fullJobRepetitions) }
        if let throughputRuns { plan.throughputRuns = max(1, throughputRuns) }
        if let throughputSeconds { plan.throughputSeconds = max(1, throughputSeconds) }
        if let feedSize { plan.feedSize = max(1, feedSize) }
        if let feedConnections { plan.feedConnections = max(1, feedConnections) }
        plan.writeCeiling = !noWriteCeiling
        plan.feedNginx = !noNginx
        if let memoryUsers { plan.memoryUsers = max(0, memoryUsers) }
        if let memoryUserTodos { plan.memoryUserTodos = max(1, memoryUserTodos) }
        if let rebuildEvents { plan.rebuildEvents = max(1, rebuildEvents) }
        if let rebuildRepetitions { plan.rebuildRepetitions = max(1, rebuildRepetitions) }
        if let pauseMs { plan.pauseMilliseconds = max(0, pauseMs) }
        if let wrkThreads { plan.feedThreads = max(1, wrkThreads) }
        if let kafkaSizes { plan.kafkaSizes = try Self.integers(kafkaSizes, "--kafka-sizes") }
        if let kafkaKs { plan.kafkaKs = try Self.integers(kafkaKs, "--kafka-ks") }
        if let kafkaRelayEvents {
            guard kafkaRelayEvents >= plan.relayUsers else {
                throw ValidationError("--kafka-relay-events must be at least \(plan.relayUsers)")
            }
            plan.relayEvents = kafkaRelayEvents
        }
        if let kafkaPartitions { plan.kafkaPartitions = max(1, kafkaPartitions) }
        if let kafkaFetchWaitMs { plan.kafkaFetchWaitMilliseconds = max(0, kafkaFetchWaitMs) }
        if let sqsSizes { plan.sqsSizes = try Self.integers(sqsSizes, "--sqs-sizes") }
        if let sqsKs { plan.sqsKs = try Self.integers(sqsKs, "--sqs-ks") }
        if let sqsRelayEvents {
            guard sqsRelayEvents >= plan.relayUsers else {
                throw ValidationError("--sqs-relay-events must be at least \(plan.relayUsers)")
            }
            plan.sqsRelayEvents = sqsRelayEvents
        }
        if let sqsQueues {
            plan.sqsQueues = try sqsQueues.split(separator: ",").map {
                guard let kind = Plan.QueueKind(rawValue: $0.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown SQS queue kind \($0); use standard, fifo")
                }
                return kind
            }
            guard !plan.sqsQueues.isEmpty else { throw ValidationError("--sqs-queues names no queue kind") }
        }
        do {
            plan.kafkaSettings = try KafkaConfiguration.parseSettings(kafkaSettings)
        } catch {
            throw ValidationError("invalid --kafka-setting: \(error)")
        }
        guard (plan.ks + plan.kafkaKs + plan.sqsKs).allSatisfy({ $0 <= 10_000 }) else {
            throw ValidationError("k is at most 10,000 (Limits.bulkIDs)")
        }
        return plan
    }

    static func integers(_ text: String, _ flag: String) throws -> [Int] {
        let values = text.split(separator: ",").map {
            Int($0.replacingOccurrences(of: "_", with: "").trimmingCharacters(in: .whitespaces))
        }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            throw ValidationError("\(flag) takes positive integers separated by commas")
        }
        return values.map { $0! }.sorted()
    }

    func run() async throws {
        let plan = try plan()
        // The server's gauges (the feed cache's bytes for the memory scenario).
        MetricsSystem.bootstrap(GaugeReadings.shared)
        let outputURL = URL(fileURLWithPath: output).standardizedFileURL
        try FileManager.default.createDirectory(at: outputURL, withIntermediateDirectories: true)
        var results = RunResults(
            date: ISO8601DateFormatter().string(from: Date()),
            machine: MachineInfo.current(),
            options: plan.description.merging(
                [
                    "quick": "\(quick)", "db_pool_size": "\(dbPoolSize)", "job_poll_ms": "\(jobPollMs)",
                    "feed_gzip_level": "\(feedGzipLevel)", "prepared_statements": preparedStatements,
                ],
                uniquingKeysWith: { $1 }
            )
        )
        Progress.log(
            "plan: \(plan.description.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
        )

        let needsServer = !plan.scenarios.isDisjoint(with: [.endToEnd, .feed, .writes, .kafka, .sqs, .memory, .rebuild])
        if plan.scenarios.contains(.component) && !needsServer {
            ComponentScenario(plan: plan).run(into: &results)
        }
        if needsServer {
            let server = BenchServer(
                directory: postgresDir.map { URL(fileURLWithPath: $0) }
                    ?? outputURL.appendingPathComponent("tmp").appendingPathComponent("postgres"),
                postgresPort: postgresPort,
                httpPort: httpPort,
                poolSize: dbPoolSize,
                jobPollInterval: .milliseconds(jobPollMs),
                feedGzipLevel: feedGzipLevel,
                preparedStatements: preparedStatements == "on"
            )
            results = try await server.run { running in
                var results = results
                let calendars = CalendarRegistry(server: running)
                // First: the memory scenario reads the resident size of this process, which keeps
                // what earlier scenarios allocated (glibc does not give it back), so its readings
                // are the server's own (and this harness's) only before any other scenario.
                if plan.scenarios.contains(.memory) {
                    try await MemoryScenario(plan: plan, calendars: calendars).run(into: &results)
                }
                // In-process, with the server idle: after the memory readings (its corpora and
                // calendars stay allocated too).
                if plan.scenarios.contains(.component) {
                    ComponentScenario(plan: plan).run(into: &results)
                }
                if plan.scenarios.contains(.endToEnd) {
                    try await EndToEndScenario(plan: plan, calendars: calendars).run(into: &results)
                }
                if plan.scenarios.contains(.feed) {
                    try await FeedServingScenario(plan: plan, calendars: calendars).run(into: &results)
                }
                if plan.scenarios.contains(.writes) {
                    try await WriteScenario(plan: plan, calendars: calendars).run(into: &results)
                }
                // Last: they replace the server's projector for a while (and restore it).
                if plan.scenarios.contains(.kafka) {
                    try await KafkaScenario(plan: plan, calendars: calendars).run(into: &results)
                }
                if plan.scenarios.contains(.sqs) {
                    try await SQSScenario(plan: plan, calendars: calendars).run(into: &results)
                }
                // Last of all: it stops the projector while it appends and rebuilds.
                if plan.scenarios.contains(.rebuild) {
                    try await RebuildScenario(plan: plan, calendars: calendars).run(into: &results)
                }
                return results
            }
        }

        results.machine["loadavg_end"] = MachineInfo.loadAverage()
        results.targets = TargetEvaluation.evaluate(results)
        let markdown = MarkdownReport(results: results).render()
        try ResultFiles(directory: outputURL).write(
            results,
            markdown: markdown,
            plot: SVGPlot(results: results).render()
        )
        print(markdown)
        Progress.log("wrote results.json, results.csv, results.md and plot.svg to \(outputURL.path)")
    }
}
