/// What a run measures, resolved from the command line (the `--quick` preset or explicit flags).
struct Plan: Sendable {
    enum Scenario: String, CaseIterable, Sendable {
        case component
        case endToEnd = "e2e"
        case feed
        case writes
        case kafka
        case sqs
        case memory
        case rebuild
    }

    /// The SQS queue kinds the `sqs` scenario measures (each behind an SNS topic of the same kind).
    enum QueueKind: String, CaseIterable, Sendable {
        case standard
        case fifo
    }

    var scenarios: Set<Scenario>
    var sizes: [Int]
    var ks: [Int]
    var warmup: Int
    var componentRepetitions: Int
    var endToEndRepetitions: Int
    var fullJobRepetitions: Int
    /// Runs of each throughput measurement (wrk runs, write runs).
    var throughputRuns: Int
    var throughputSeconds: Int
    var feedSize: Int
    var feedConnections: Int
    var feedThreads: Int
    var writeClients: [Int]
    /// Whether the writes scenario measures the PostgreSQL ceiling of a create beside each shape (pgbench).
    var writeCeiling: Bool
    /// Whether the feed scenario measures nginx serving the same bytes as a static file beside Almanac.
    var feedNginx: Bool
    /// The memory scenario: users of `memoryUserTodos` todos each, cached beside the largest calendar.
    var memoryUsers: Int
    var memoryUserTodos: Int
    /// Events of the rebuild scenario's log (one user's stream), and the timed rebuilds of it.
    var rebuildEvents: Int
    var rebuildRepetitions: Int
    var bulkSize: Int
    var pollIntervalMilliseconds: Int
    /// Idle time before each end-to-end write (lets background work of the previous one finish).
    var pauseMilliseconds: Int
    /// Calendar sizes of the Kafka scenario's end-to-end part.
    var kafkaSizes: [Int]
    /// Bulk completion sizes of the Kafka scenario's end-to-end part.
    var kafkaKs: [Int]
    /// Events the relay publishes per throughput run (appended once, spread over `relayUsers` users).
    var relayEvents: Int
    var relayUsers: Int
    var kafkaBrokers: Int
    var kafkaPartitions: Int
    /// `fetch.wait.max.ms` of the consumer: the mock broker answers an empty fetch only after this
    /// long, even if a message arrives meanwhile (a real broker answers at once), so it bounds the
    /// delay the mock adds.
    var kafkaFetchWaitMilliseconds: Int
    /// Raw librdkafka settings for the producer and the consumer, over the harness's own.
    var kafkaSettings: [String: String]
    /// Calendar sizes of the SQS scenario's end-to-end part.
    var sqsSizes: [Int]
    /// Bulk completion sizes of the SQS scenario's end-to-end part.
    var sqsKs: [Int]
    /// Events of each backlog of the SQS scenario's throughput runs (a fresh one per run, `relayUsers` users).
    var sqsRelayEvents: Int
    /// Queue kinds of the SQS scenario, in the order they run.
    var sqsQueues: [QueueKind]
    /// Where SNS and SQS answer (moto_server, started by `benchmarks/run`); nil: the sqs scenario cannot run.
    var awsEndpoint: String?

    static func standard(quick: Bool) -> Plan {
        Plan(
            scenarios: Set(Scenario.allCases),
            sizes: [1_000, 10_000, 100_000],
            ks: [1, 100, 1_000, 10_000],
            warmup: 1,
            componentRepetitions: quick ? 11 : 41,
            endToEndRepetitions: quick ? 5 : 15,
            fullJobRepetitions: quick ? 3 : 7,
            throughputRuns: quick ? 3 : 5,
            throughputSeconds: quick ? 3 : 10,
            feedSize: 10_000,
            feedConnections: 32,
            feedThreads: 1,
            writeClients: [1, 16],
            writeCeiling: true,
            feedNginx: true,
            memoryUsers: quick ? 20 : 100,
            memoryUserTodos: 1_000,
            rebuildEvents: quick ? 100_000 : 1_000_000,
            rebuildRepetitions: quick ? 1 : 3,
            bulkSize: 10_000,
            pollIntervalMilliseconds: 1,
            pauseMilliseconds: 0,
            kafkaSizes: quick ? [1_000, 10_000] : [1_000, 10_000, 100_000],
            kafkaKs: [1, 1_000],
            relayEvents: quick ? 20_000 : 100_000,
            relayUsers: 64,
            kafkaBrokers: 3,
            kafkaPartitions: 6,
            kafkaFetchWaitMilliseconds: 10,
            kafkaSettings: [:],
            sqsSizes: quick ? [1_000] : [1_000, 10_000],
            sqsKs: [1, 100],
            sqsRelayEvents: quick ? 200 : 400,
            sqsQueues: [.standard, .fifo],
            awsEndpoint: nil
        )
    }

    var description: [String: String] {
        [
            "scenarios": Scenario.allCases.filter(scenarios.contains).map(\.rawValue).joined(separator: ","),
            "sizes": sizes.map(String.init).joined(separator: ","),
            "ks": ks.map(String.init).joined(separator: ","),
            "warmup": "\(warmup)",
            "component_repetitions": "\(componentRepetitions)",
            "e2e_repetitions": "\(endToEndRepetitions)",
            "full_job_repetitions": "\(fullJobRepetitions)",
            "throughput_runs": "\(throughputRuns)",
            "throughput_seconds": "\(throughputSeconds)",
            "feed_size": "\(feedSize)",
            "feed_connections": "\(feedConnections)",
            "feed_wrk_threads": "\(feedThreads)",
            "write_clients": writeClients.map(String.init).joined(separator: ","),
            "write_ceiling": "\(writeCeiling)",
            "feed_nginx": "\(feedNginx)",
            "memory_users": "\(memoryUsers)",
            "memory_user_todos": "\(memoryUserTodos)",
            "rebuild_events": "\(rebuildEvents)",
            "rebuild_repetitions": "\(rebuildRepetitions)",
            "bulk_size": "\(bulkSize)",
            "poll_interval_ms": "\(pollIntervalMilliseconds)",
            "pause_ms": "\(pauseMilliseconds)",
            "kafka_sizes": kafkaSizes.map(String.init).joined(separator: ","),
            "kafka_ks": kafkaKs.map(String.init).joined(separator: ","),
            "kafka_relay_events": "\(relayEvents)",
            "kafka_relay_users": "\(relayUsers)",
            "kafka_brokers": "\(kafkaBrokers)",
            "kafka_partitions": "\(kafkaPartitions)",
            "kafka_fetch_wait_ms": "\(kafkaFetchWaitMilliseconds)",
            "kafka_settings": kafkaSettings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                separator: ","
            ),
            "sqs_sizes": sqsSizes.map(String.init).joined(separator: ","),
            "sqs_ks": sqsKs.map(String.init).joined(separator: ","),
            "sqs_relay_events": "\(sqsRelayEvents)",
            "sqs_queues": sqsQueues.map(\.rawValue).joined(separator: ","),
            "aws_endpoint": awsEndpoint ?? "",
        ]
    }
}
