import Bus
import Testing

@Suite("Kafka consumer groups", .timeLimit(.minutes(1)))
struct KafkaConsumerGroupTests {
    @Test("a new member resumes after the last commit; uncommitted messages are redelivered")
    func committedOffsetsSurviveRestart() async throws {
        try await withDeadline(.seconds(40), "resume after commit") {
            let test = try TestCluster(partitions: 1)
            let publisher = try test.publisher()
            let sent = makeMessages(10, keys: ["alice", "bob"])
            let committedIDs = Set(sent.prefix(6).map(\.eventID))

            let first = try test.subscriber(group: "resume")
            let firstCollector = Collector(first) { committedIDs.contains($0.message.eventID) }
            try await withServices([publisher, first]) {
                try await publisher.publish(sent)
                _ = try await firstCollector.wait(forCount: sent.count)
            }
            #expect(first.assignedPartitions.isEmpty)
            #expect(firstCollector.messages.map(\.offset) == Array(0..<10))

            let second = try test.subscriber(group: "resume")
            let secondCollector = Collector(second)
            try await withServices([second]) {
                _ = try await secondCollector.wait(forCount: 4)
                // Window: a wrongly rewound consumer gets 300 ms (six 50 ms polls) to deliver more
                // than it should.
                try await Task.sleep(for: .milliseconds(300))
            }
            let resumed = secondCollector.messages
            #expect(resumed.map(\.offset) == [6, 7, 8, 9])
            #expect(resumed.map(\.message) == Array(sent.suffix(4)))
        }
    }

    @Test(
        "two members split the partitions and together see every message once",
        arguments: ["range,roundrobin", "cooperative-sticky"]
    )
    func twoMembersSplitPartitions(strategy: String) async throws {
        try await withDeadline(.seconds(40), "split partitions") {
            let test = try TestCluster(partitions: 4)
            let publisher = try test.publisher()
            let extra = ["partition.assignment.strategy": strategy]
            let one = try test.subscriber(group: "split", extra: extra)
            let two = try test.subscriber(group: "split", extra: extra)
            let oneCollector = Collector(one) { _ in true }
            let twoCollector = Collector(two) { _ in true }
            let sent = makeMessages(48, keys: (1...16).map { "user-\($0)" })

            try await withServices([publisher, one, two]) {
                try await eventually {
                    let (a, b) = (Set(one.assignedPartitions), Set(two.assignedPartitions))
                    return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b) == [0, 1, 2, 3]
                }
                try await publisher.publish(sent)
                try await eventually { oneCollector.messages.count + twoCollector.messages.count >= sent.count }
                // Window: duplicates would arrive within 300 ms (six 50 ms polls); the count is checked below.
                try await Task.sleep(for: .milliseconds(300))

                #expect(oneCollector.messages.allSatisfy { one.assignedPartitions.contains($0.partition) })
                #expect(twoCollector.messages.allSatisfy { two.assignedPartitions.contains($0.partition) })
            }
            let all = oneCollector.messages + twoCollector.messages
            #expect(all.count == sent.count)
            #expect(Set(all.map(\.message)) == Set(sent))
            #expect(!oneCollector.messages.isEmpty && !twoCollector.messages.isEmpty)
        }
    }

    @Test("committing a message whose partition moved to another member throws partitionRevoked")
    func commitAfterRevocationThrows() async throws {
        try await withDeadline(.seconds(70), "commit after revocation") {
            let test = try TestCluster(partitions: 4)
            let publisher = try test.publisher()
            let first = try test.subscriber(group: "revoke")
            let firstCollector = Collector(first)
            let sent = makeMessages(32, keys: (1...16).map { "user-\($0)" })

            try await withServices([publisher, first]) {
                try await publisher.publish(sent)
                let early = try await firstCollector.wait(forCount: sent.count)
                #expect(first.assignedPartitions == [0, 1, 2, 3])

                let second = try test.subscriber(group: "revoke")
                try await withServices([second]) {
                    try await eventually { first.assignedPartitions.count == 2 && second.assignedPartitions.count == 2 }
                    let kept = Set(first.assignedPartitions)
                    let moved = try #require(early.first { !kept.contains($0.partition) })
                    let stayed = try #require(early.first { kept.contains($0.partition) })

                    let error = await #expect(throws: KafkaError.self) { try await first.commit(moved) }
                    #expect(error?.code == .partitionRevoked)
                    // The eager rebalance revoked the kept partitions too before assigning them
                    // again: a message received before it is stale even there, and the same
                    // message, received again under the new assignment, commits.
                    let stale = await #expect(throws: KafkaError.self) { try await first.commit(stayed) }
                    #expect(stale?.code == .partitionRevoked)
                    let redelivered = { @Sendable in
                        firstCollector.messages.dropFirst(early.count).last {
                            $0.partition == stayed.partition && $0.offset == stayed.offset && first.isCurrent($0)
                        }
                    }
                    try await eventually { redelivered() != nil }
                    try await first.commit(try #require(redelivered()))
                }
            }
        }
    }

    @Test("a commit does not wait for the blocked poll to time out")
    func commitWakesUpPoll() async throws {
        try await withDeadline(.seconds(40), "commit latency") {
            let test = try TestCluster(partitions: 1)
            let publisher = try test.publisher()
            let subscriber = try test.subscriber(group: "latency") { $0.pollTimeout = .seconds(2) }
            let collector = Collector(subscriber)
            let sent = makeMessages(10, keys: ["alice"])

            try await withServices([publisher, subscriber]) {
                try await publisher.publish(sent)
                let received = try await collector.wait(forCount: sent.count)
                // Nothing more arrives, so the run loop spends its time in 2 s polls; each commit must
                // interrupt one. (The first commit may come before the loop entered its poll; each
                // later one finds it there, since the loop polls again as soon as a poll returns.)
                let clock = ContinuousClock()
                let elapsed = try await clock.measure {
                    for message in received { try await subscriber.commit(message) }
                }
                // Without the wake-up each commit waits out the 2 s poll (at least 9 commits: 18 s); on a busy
                // 2-core machine the answers themselves can take a few hundred milliseconds each.
                #expect(elapsed < .seconds(10), "10 commits took \(elapsed)")
            }
        }
    }
}
