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

    @Test("a message polled before its partition was revoked is stale, even once the partition is back")
    func generations() throws {
        var machine = SubscriberStateMachine()
        try machine.run()
        let zero = TopicPartition(topic: "events", partition: 0)
        let one = TopicPartition(topic: "events", partition: 1)
        machine.assigned([zero, one])
        var message = ReceivedMessage(
            message: BusMessage(key: "k", eventID: "e", payload: []),
            topic: "events",
            partition: 0,
            offset: 7
        )
        message.assignmentGeneration = try #require(machine.generation(of: zero))
        #expect(machine.isCurrent(message))
        try machine.checkCommit(zero, generation: message.assignmentGeneration)

        // Cooperative: another partition's change keeps this one's generation.
        machine.revoked([one])
        #expect(machine.isCurrent(message))

        // Eager: everything revoked, then the same partition assigned again.
        machine.revoked([zero])
        machine.assigned([zero, one])
        #expect(!machine.isCurrent(message))
        let error = #expect(throws: KafkaError.self) {
            try machine.checkCommit(zero, generation: message.assignmentGeneration)
        }
        #expect(error?.code == .partitionRevoked)
        let fresh = try #require(machine.generation(of: zero))
        try machine.checkCommit(zero, generation: fresh)

        // Shutdown: close revokes everything, but what is buffered still drains (its commits fail).
        message.assignmentGeneration = fresh
        machine.beginClosing()
        machine.revoked([zero, one])
        #expect(machine.isCurrent(message))
        #expect(throws: KafkaError.self) { try machine.checkCommit(zero, generation: fresh) }
    }
}
