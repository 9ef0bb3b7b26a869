import API
import Bus
import EventStore
import Foundation
import Runtime

/// Scenario 6 (issue #11), the fan-out over SNS and SQS through moto_server (an AWS emulator on
/// loopback, started by `benchmarks/run`): end-to-end latency from a write to the feed when the
/// projection is fed by relay → SNS topic → SQS queue → SQS projector (`almanac serve --bus sns`),
/// against the store-tailing projector in the same run on the same calendars; then relay and
/// projector throughput in events per second on backlogs. Standard queues, and FIFO ones when
/// the plan says so.
struct SQSScenario {
    let plan: Plan
    let calendars: CalendarRegistry

    var server: BenchServer.Running { calendars.server }
    var store: EventStore { server.services.store }
    var bench: FanOutBench {
        FanOutBench(scenario: "sqs", plan: plan, calendars: calendars, sizes: plan.sqsSizes, ks: plan.sqsKs)
    }

    /// OutboxRelay → SNS → SQS → SQSProjector on queues of `kind`.
    static func path(_ kind: Plan.QueueKind) -> FanOutBench.Path {
        switch kind {
        case .standard: FanOutBench.Path(name: "sns", label: "relay → SNS → SQS → projector")
        case .fifo: FanOutBench.Path(name: "sns-fifo", label: "relay → SNS FIFO → SQS FIFO → projector")
        }
    }

    func run(into results: inout RunResults) async throws {
        guard let endpoint = plan.awsEndpoint else {
            throw BenchError("the sqs scenario needs --aws-endpoint (benchmarks/run starts moto_server)")
        }
        var settings = ""
        try await MotoAWS.with(endpoint: endpoint) { aws in
            let pools = try await bench.pools()
            try await bench.measureStore(pools, into: &results)
            for kind in plan.sqsQueues {
                // Reopening through the bus would cost one message per todo: reopen with the store projector.
                try await bench.reopen(pools)
                try await aws.withFanOut(kind) { fanOut, _ in
                    settings =
                        "long poll \(fanOut.waitTimeSeconds) s, visibility timeout \(fanOut.visibilityTimeout) s"
                    try await bench.stoppingProjectionOnFailure {
                        let first = try await bench.switchToBus(.sns(fanOut), Self.path(kind))
                        results.notes.append(
                            "sqs: after the switch to \(kind.rawValue) queues, the first write reached the feed in "
                                + "\(format(first)) ms (not measured: the clients' first connections)."
                        )
                        for pool in pools {
                            try await bench.measure(pool, Self.path(kind), into: &results)
                        }
                        try await server.projection.stop()
                    }
                }
                try await bench.restoreStoreProjector()
            }
            try await throughput(aws, into: &results)
            try await bench.restoreStoreProjector()
        }
        results.notes.append(
            "sqs: moto_server\(results.machine["moto"].map { " \($0)" } ?? "") at \(endpoint), an AWS emulator "
                + "(one Python process, in memory) on the same 2 cores: its numbers say nothing about AWS's. Its "
                + "SQS scans every message a queue holds on each send, receive and delete, so a request costs more "
                + "the deeper the queue; SNS delivers to the subscribed queue inside the Publish request. The relay "
                + "publishes PublishBatch requests of 10 messages one after the other, the projector receives up to "
                + "10 per request (\(settings), `serve --bus sns`'s defaults) and deletes them in one "
                + "DeleteMessageBatch after its transaction."
        )
    }
}
