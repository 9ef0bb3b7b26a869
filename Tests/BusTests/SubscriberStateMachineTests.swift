import Testing

@testable import Bus

@Suite("SubscriberStateMachine")
struct SubscriberStateMachineTests {
    private func partitions(_ numbers: Int32...) -> [TopicPartition] {
        numbers.map { TopicPartition(topic: "events", partition: $0) }
    }

    @Test("demand that arrives between a full buffer and pausing is not lost")
    func demandRacingPause() throws {
        var machine = SubscriberStateMachine()
        try machine.run()
        guard case .poll(let epoch, paused: false) = machine.nextPollAction() else {
            Issue.record("expected to poll")
            return
        }
        #expect(machine.produceMore() == false)
        machine.bufferFull(epoch: epoch)
        #expect(machine.nextPollAction() == .poll(epoch: epoch + 1, paused: false))
    }

    @Test("a full buffer pauses the partitions but keeps polling; demand resumes them; closing stops")
    func pauseAndResume() throws {
        var machine = SubscriberStateMachine()
        try machine.run()
        guard case .poll(let epoch, _) = machine.nextPollAction() else {
            Issue.record("expected to poll")
            return
        }
        machine.bufferFull(epoch: epoch)
        #expect(machine.nextPollAction() == .poll(epoch: epoch, paused: true))
        #expect(machine.produceMore() == true, "the caller must wake up the poll to resume")
        #expect(machine.nextPollAction() == .poll(epoch: epoch + 1, paused: false))
        machine.beginClosing()
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

        machine.finish()
        #expect(machine.assignment.isEmpty)
        let finished = #expect(throws: KafkaError.self) { try machine.checkCommit(zero) }
        #expect(finished?.code == .shutDown)
    }
}
