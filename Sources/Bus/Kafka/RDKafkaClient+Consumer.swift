import CRdKafka
import Logging
import NIOConcurrencyHelpers

extension RDKafkaClient {
    /// Creates a group consumer; assignment changes arrive as events during `consumerPoll`/`close`.
    static func makeConsumer(
        settings: [String: String],
        logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void
    ) throws -> RDKafkaClient {
        try RDKafkaClient(kind: .consumer, settings: settings, logger: logger, onEvent: onEvent)
    }

    /// Joins the group for `topic`; the assignment follows through the rebalance callback.
    func subscribe(topic: String) async throws {
        try await self.blocking { handle in
            guard let list = rd_kafka_topic_partition_list_new(1) else {
                throw KafkaError(code: .subscribeFailed, message: "rd_kafka_topic_partition_list_new failed")
            }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            // -1 is RD_KAFKA_PARTITION_UA: the whole topic, partitions chosen by the group.
            rd_kafka_topic_partition_list_add(list, topic, -1)
            let result = rd_kafka_subscribe(handle, list)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw Self.error(.subscribeFailed, result)
            }
        }
    }

    /// Waits up to `timeout` for a first message, then takes whatever else is ready, up to `maxMessages`.
    ///
    /// Rebalance callbacks and commit answers run inside this call. With `paused`, the assigned
    /// partitions are paused first (and those assigned while it lasts, by the rebalance callback),
    /// so the call serves the group without fetching; without it, they are resumed. `generation`
    /// tags each message right after it is received, on this thread, where rebalances happen too;
    /// `nil` drops it (its partition is not assigned). Transient errors are logged; a fatal one is
    /// thrown.
    func consumerPoll(
        maxMessages: Int,
        timeout: Duration,
        paused: Bool,
        generation: @escaping @Sendable (TopicPartition) -> UInt64?
    ) async throws -> [ReceivedMessage] {
        let milliseconds = timeout.milliseconds
        let context = self.callbackContext
        return try await self.blocking { handle in
            if context.paused.withLockedValue({ $0 }) != paused {
                self.setPaused(paused, handle: handle, context: context)
            }
            var received: [ReceivedMessage] = []
            var wait = milliseconds
            while received.count < maxMessages, let message = rd_kafka_consumer_poll(handle, wait) {
                defer { rd_kafka_message_destroy(message) }
                wait = 0
                if message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    var tagged = Self.receivedMessage(message)
                    guard let current = generation(tagged.topicPartition) else { continue }
                    tagged.assignmentGeneration = current
                    received.append(tagged)
                } else {
                    try self.handleConsumerError(handle, message)
                }
            }
            return received
        }
    }

    /// Pauses or resumes the whole current assignment (on the client's thread).
    private func setPaused(_ paused: Bool, handle: OpaquePointer, context: CallbackContext) {
        context.paused.withLockedValue { $0 = paused }
        var current: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &current) == RD_KAFKA_RESP_ERR_NO_ERROR, let current else { return }
        defer { rd_kafka_topic_partition_list_destroy(current) }
        Self.setPaused(paused, handle: handle, partitions: current, logger: context.logger)
    }

    private static func setPaused(
        _ paused: Bool,
        handle: OpaquePointer,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>,
        logger: Logger
    ) {
        guard partitions.pointee.cnt > 0 else { return }
        let result =
            paused
            ? rd_kafka_pause_partitions(handle, partitions) : rd_kafka_resume_partitions(handle, partitions)
        logger.debug(
            paused ? "partitions paused" : "partitions resumed",
            metadata: ["partitions": "\(Self.topicPartitions(partitions).map(\.partition))"]
        )
        if result != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.error(
                paused ? "pausing partitions failed" : "resuming partitions failed",
                metadata: ["error": "\(Self.name(of: result))"]
            )
        }
    }

    /// Commits `offset` as the next offset to read in `partition`, after `check` passes, and
    /// waits at most `timeout` for the coordinator's answer.
    ///
    /// The commit is asynchronous (`rd_kafka_commit_queue` on the consumer's queue): the client's
    /// thread only sends it and goes on polling; the answer arrives through a callback inside a
    /// later poll. `check` runs on the client's thread, where rebalance callbacks run too, so no
    /// revocation can slip in between the check and the commit. Throws `commitTimedOut` when no
    /// answer came in time (the commit may still land later; nothing waits for it then).
    func commit(
        _ partition: TopicPartition,
        offset: Int64,
        timeout: Duration,
        check: @escaping @Sendable () throws -> Void
    ) async throws {
        let outcome = CommitOutcome()
        let commits = self.callbackContext.commits
        let id = commits.add(outcome)
        defer { _ = commits.take(id) }
        let queue = self.pollQueue.map(SendablePointer.init)
        self.enqueue(wakingUpPoll: true) { handle in
            guard let handle, let queue else {
                outcome.resume(.failure(KafkaError(code: .shutDown, message: "the Kafka client has shut down")))
                return
            }
            do {
                try check()
                try Self.sendCommit(handle, partition, offset: offset, queue: queue.pointer, id: id)
            } catch {
                outcome.resume(.failure(error))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return }
                outcome.resume(
                    .failure(
                        KafkaError(
                            code: .commitTimedOut,
                            message: "no answer to the commit of \(partition.topic)[\(partition.partition)] "
                                + "within \(timeout)"
                        )
                    )
                )
            }
            defer { group.cancelAll() }
            try await withTaskCancellationHandler {
                try await outcome.wait()
            } onCancel: {
                outcome.resume(.failure(CancellationError()))
            }
        }
    }

    /// A C pointer handed to the client's thread.
    private struct SendablePointer: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private static func sendCommit(
        _ handle: OpaquePointer,
        _ partition: TopicPartition,
        offset: Int64,
        queue: OpaquePointer,
        id: UInt
    ) throws {
        guard let list = rd_kafka_topic_partition_list_new(1) else {
            throw KafkaError(code: .commitFailed, message: "rd_kafka_topic_partition_list_new failed")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)
        entry?.pointee.offset = offset
        let result = rd_kafka_commit_queue(
            handle,
            list,
            queue,
            { handle, error, offsets, opaque in
                guard let handle, let context = rd_kafka_opaque(handle) else { return }
                RDKafkaClient.handleCommitAnswer(
                    RDKafkaClient.context(context),
                    id: UInt(bitPattern: opaque),
                    error: error,
                    offsets: offsets
                )
            },
            UnsafeMutableRawPointer(bitPattern: id)
        )
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.commitError(result, partition)
        }
    }

    /// Runs inside a poll on the client's thread: the coordinator answered commit `id`.
    static func handleCommitAnswer(
        _ context: CallbackContext,
        id: UInt,
        error: rd_kafka_resp_err_t,
        offsets: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        guard let outcome = context.commits.take(id) else {
            context.logger.debug("late commit answer", metadata: ["error": "\(Self.name(of: error))"])
            return
        }
        var result = error
        let partition = Self.topicPartitions(offsets).first ?? TopicPartition(topic: "", partition: -1)
        if result == RD_KAFKA_RESP_ERR_NO_ERROR, let offsets, offsets.pointee.cnt > 0,
            let elements = offsets.pointee.elems
        {
            result = elements[0].err
        }
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
            outcome.resume(.failure(Self.commitError(result, partition)))
            return
        }
        outcome.resume(.success(()))
    }

    /// The low (oldest kept) and high (next to be written) offsets of `partition`, asked of its
    /// leader (a blocking call, on the client's thread).
    func queryWatermarks(topic: String, partition: Int32, timeout: Duration) async throws -> (low: Int64, high: Int64) {
        let milliseconds = timeout.milliseconds
        return try await self.blocking(wakingUpPoll: true) { handle in
            var low: Int64 = -1
            var high: Int64 = -1
            let result = rd_kafka_query_watermark_offsets(handle, topic, partition, &low, &high, milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw Self.error(.watermarksFailed, result)
            }
            return (low, high)
        }
    }

    private static func commitError(_ result: rd_kafka_resp_err_t, _ partition: TopicPartition) -> KafkaError {
        switch result {
        case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
            RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
            // The group moved on without this member's generation: the partition is (being) reassigned.
            Self.error(
                .partitionRevoked,
                result,
                "the group rebalanced before \(partition.topic)[\(partition.partition)] could be committed"
            )
        default:
            Self.error(.commitFailed, result)
        }
    }

    private static func receivedMessage(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> ReceivedMessage {
        let raw = message.pointee
        let key = Self.bytes(raw.key, count: raw.key_len)
        let payload = Self.bytes(raw.payload, count: raw.len)
        var eventID: [UInt8] = []
        var headers: OpaquePointer?
        if rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR, let headers {
            var value: UnsafeRawPointer?
            var size = 0
            if rd_kafka_header_get_last(headers, Self.eventIDHeader, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                eventID = Self.bytes(value, count: size)
            }
        }
        return ReceivedMessage(
            message: BusMessage(
                key: String(decoding: key, as: UTF8.self),
                eventID: String(decoding: eventID, as: UTF8.self),
                payload: payload
            ),
            topic: raw.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
            partition: raw.partition,
            offset: raw.offset
        )
    }

    private static func bytes(_ pointer: UnsafeRawPointer?, count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private func handleConsumerError(_ handle: OpaquePointer, _ message: UnsafeMutablePointer<rd_kafka_message_t>)
        throws
    {
        let code = message.pointee.err
        if code == RD_KAFKA_RESP_ERR__PARTITION_EOF { return }
        if code == RD_KAFKA_RESP_ERR__FATAL {
            var reason = [CChar](repeating: 0, count: 512)
            let fatal = rd_kafka_fatal_error(handle, &reason, reason.count)
            throw Self.error(.fatal, fatal, Self.string(reason))
        }
        self.logger.warning(
            "consumer error",
            metadata: [
                "error": "\(Self.name(of: code))",
                "reason": "\(String(cString: rd_kafka_message_errstr(message)))",
            ]
        )
    }

    /// Runs inside `rd_kafka_consumer_poll`/`rd_kafka_consumer_close` on the client's thread.
    ///
    /// Applies the change librdkafka asks for (incrementally for the cooperative protocol, in full
    /// for the eager one) and reports it; partitions are reported revoked before they are let go.
    static func handleRebalance(
        handle: OpaquePointer,
        code: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
        opaque: UnsafeMutableRawPointer
    ) {
        let context = Self.context(opaque)
        let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
        let failure: rd_kafka_resp_err_t
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let assigned = Self.topicPartitions(partitions)
            context.logger.info("partitions assigned", metadata: ["partitions": "\(assigned.map(\.partition))"])
            failure =
                cooperative
                ? Self.code(consuming: rd_kafka_incremental_assign(handle, partitions))
                : rd_kafka_assign(handle, partitions)
            if let partitions {
                // A partition assigned while the consumer wants nothing starts paused; otherwise
                // make sure a pause from an earlier assignment does not stick to it.
                Self.setPaused(
                    context.paused.withLockedValue { $0 },
                    handle: handle,
                    partitions: partitions,
                    logger: context.logger
                )
            }
            context.onEvent(.assigned(assigned))
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let revoked = Self.topicPartitions(partitions)
            context.logger.info(
                "partitions revoked",
                metadata: [
                    "partitions": "\(revoked.map(\.partition))", "lost": "\(rd_kafka_assignment_lost(handle) != 0)",
                ]
            )
            context.onEvent(.revoked(revoked))
            failure =
                cooperative
                ? Self.code(consuming: rd_kafka_incremental_unassign(handle, partitions))
                : rd_kafka_assign(handle, nil)
        default:
            // librdkafka's advice for a failed rebalance: drop the whole assignment to stay in sync.
            var current: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let revoked =
                rd_kafka_assignment(handle, &current) == RD_KAFKA_RESP_ERR_NO_ERROR
                ? Self.topicPartitions(current) : []
            if let current { rd_kafka_topic_partition_list_destroy(current) }
            context.logger.error("rebalance failed", metadata: ["error": "\(Self.name(of: code))"])
            context.onEvent(.revoked(revoked))
            failure = rd_kafka_assign(handle, nil)
        }
        if failure != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.error("applying the rebalance failed", metadata: ["error": "\(Self.name(of: failure))"])
        }
    }

    /// The code of an `rd_kafka_error_t` (freed here), or no error for `nil`.
    private static func code(consuming error: OpaquePointer?) -> rd_kafka_resp_err_t {
        guard let error else { return RD_KAFKA_RESP_ERR_NO_ERROR }
        defer { rd_kafka_error_destroy(error) }
        return rd_kafka_error_code(error)
    }

    private static func topicPartitions(
        _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) -> [TopicPartition] {
        guard let list, let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            TopicPartition(topic: String(cString: elements[index].topic), partition: elements[index].partition)
        }
    }
}

extension RDKafkaClient {
    /// Where an assigned partition stands: the brokers' watermarks and the group's committed offset.
    struct AssignedOffsets: Sendable {
        var partition: TopicPartition
        /// The generation of the assignment the offsets were read under.
        var generation: UInt64
        var low: Int64
        var high: Int64
        /// Whether the coordinator was asked for the committed offset, and answered.
        var askedCommitted = false
        /// The offset the group committed, if asked; nil when nothing is committed.
        var committed: Int64?
    }

    /// The watermarks of every partition assigned now, and the committed offsets of those
    /// `needsCommitted` names (the others the caller knows), on the client's thread.
    ///
    /// The watermarks are librdkafka's cached ones (`rd_kafka_get_watermark_offsets`, updated by
    /// every fetch) unless none is cached yet or the partitions are paused (then no fetch updates
    /// them): those are asked of the leader, bounded by `timeout`. The committed offsets are asked
    /// of the group coordinator (`rd_kafka_committed`), bounded by `timeout`. A partition whose
    /// watermarks cannot be had is left out. `generation` tags each partition as `consumerPoll`
    /// tags messages (`nil`: not assigned in the subscriber's view, left out).
    func assignedOffsets(
        timeout: Duration,
        generation: @escaping @Sendable (TopicPartition) -> UInt64?,
        needsCommitted: @escaping @Sendable (TopicPartition, UInt64) -> Bool
    ) async throws -> [AssignedOffsets] {
        let milliseconds = timeout.milliseconds
        let context = self.callbackContext
        return try await self.blocking(wakingUpPoll: true) { handle in
            var current: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let result = rd_kafka_assignment(handle, &current)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let current else {
                throw Self.error(.watermarksFailed, result)
            }
            defer { rd_kafka_topic_partition_list_destroy(current) }
            let paused = context.paused.withLockedValue { $0 }
            var offsets: [AssignedOffsets] = []
            for partition in Self.topicPartitions(current) {
                guard let generation = generation(partition) else { continue }
                var low: Int64 = -1
                var high: Int64 = -1
                _ = rd_kafka_get_watermark_offsets(handle, partition.topic, partition.partition, &low, &high)
                if high < 0 || paused {
                    let asked = rd_kafka_query_watermark_offsets(
                        handle,
                        partition.topic,
                        partition.partition,
                        &low,
                        &high,
                        milliseconds
                    )
                    guard asked == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else {
                        context.logger.debug(
                            "no watermarks for a lag sample",
                            metadata: ["partition": "\(partition.partition)", "error": "\(Self.name(of: asked))"]
                        )
                        continue
                    }
                }
                offsets.append(
                    AssignedOffsets(partition: partition, generation: generation, low: max(0, low), high: high)
                )
            }
            let asking = offsets.indices.filter { needsCommitted(offsets[$0].partition, offsets[$0].generation) }
            guard !asking.isEmpty else { return offsets }
            guard let list = rd_kafka_topic_partition_list_new(Int32(asking.count)) else {
                throw KafkaError(code: .watermarksFailed, message: "rd_kafka_topic_partition_list_new failed")
            }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            for index in asking {
                rd_kafka_topic_partition_list_add(
                    list,
                    offsets[index].partition.topic,
                    offsets[index].partition.partition
                )
            }
            let committed = rd_kafka_committed(handle, list, milliseconds)
            guard committed == RD_KAFKA_RESP_ERR_NO_ERROR, let elements = list.pointee.elems else {
                throw Self.error(.watermarksFailed, committed)
            }
            for (position, index) in asking.enumerated() where elements[position].err == RD_KAFKA_RESP_ERR_NO_ERROR {
                // RD_KAFKA_OFFSET_INVALID (-1001): the group has committed nothing for it.
                let offset = elements[position].offset
                offsets[index].askedCommitted = true
                offsets[index].committed = offset >= 0 ? offset : nil
            }
            return offsets
        }
    }
}
