import Testing

@testable import Bus

@Suite("SubscriberStateMachine")
struct SubscriberStateMachineTests {
    private func partitions(_ numbers: Int32...) -> [TopicPartition] {
        numbers.map { TopicPartition(topic: "events", partition: $0) }
    }

    @Test("demand that arrives between a full buffer and parking is not lost")
    func demandRacingPark() async throws {
        var machine = SubscriberStateMachine()
        try machine.run()
        guard case .poll(let epoch) = machine.nextPollAction() else {
            Issue.record("expected to poll")
            return
        }
        #expect(machine.produceMore() == nil)
        await withCheckedContinuation { wakeup in
            guard case .resume(let wakeup) = machine.park(wakeup, epoch: epoch) else {
                Issue.record("parked although demand arrived")
                return
            }
            wakeup.resume()
        }
    }

    @Test("a parked loop wakes up on demand, and on closing")
    func parkedWakesUp() async throws {
        var machine = SubscriberStateMachine()
        try machine.run()
        for wake in [{ (m: inout SubscriberStateMachine) in m.produceMore() }, { $0.beginClosing() }] {
            await withCheckedContinuation { wakeup in
                let epoch: UInt64 = if case .poll(let epoch) = machine.nextPollAction() { epoch } else { 0 }
                guard case .park = machine.park(wakeup, epoch: epoch) else {
                    Issue.record("did not park")
                    return
                }
                wake(&machine)?.resume()
            }
        }
        #expect(machine.nextPollAction() == .close)
    }

    @Test("commits are allowed only for partitions assigned now, while running")
    func commitChecks() throws {
        var machine = SubscriberStateMachine()
        let zero = TopicPartition(topic: "events", partition: 0)
        #expect(throws: KafkaError.self) { try machine.checkCommit(zero) }

        try machine.run()
        // Eager rebalance: all revoked, then a smaller assignment.
        machine.assigned(self.partitions(0, 1, 2, 3))
        try machine.checkCommit(zero)
        machine.revoked(self.partitions(0, 1, 2, 3))
        machine.assigned(self.partitions(2, 3))
        let error = #expect(throws: KafkaError.self) { try machine.checkCommit(zero) }
        #expect(error?.code == .partitionRevoked)
        try machine.checkCommit(TopicPartition(topic: "events", partition: 2))

        // Cooperative rebalance: increments only.
        machine.assigned(self.partitions(0))
        machine.revoked(self.partitions(3))
        #expect(machine.assignment == Set(self.partitions(0, 2)))

        _ = machine.finish()
        #expect(machine.assignment.isEmpty)
        let finished = #expect(throws: KafkaError.self) { try machine.checkCommit(zero) }
        #expect(finished?.code == .shutDown)
    }
}
