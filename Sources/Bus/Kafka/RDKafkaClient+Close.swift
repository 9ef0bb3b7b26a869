import CRdKafka

extension RDKafkaClient {
    /// A consumer leaving its group: the queue `rd_kafka_consumer_close_queue` forwards the
    /// close's events to. Used on the client's thread only.
    struct ConsumerClose: @unchecked Sendable {
        let handle: OpaquePointer
        let queue: OpaquePointer

        /// Serves the close's events until the consumer is closed (true) or `deadline` passes
        /// (false); without a deadline, until it is closed.
        func serve(until deadline: ContinuousClock.Instant?) -> Bool {
            while rd_kafka_consumer_closed(self.handle) == 0 {
                if let deadline, ContinuousClock.now >= deadline { return false }
                _ = self.serveOne(waitingMilliseconds: 100)
            }
            return true
        }

        /// Serves one event, waiting for it at most `waitingMilliseconds`; false when none came.
        ///
        /// Events, not `rd_kafka_queue_poll_callback`, which aborts the process on an event without
        /// a callback, such as fetched messages: rebalances are applied as the rebalance callback
        /// does (librdkafka waits for the revocation to be acknowledged); commit answers resume
        /// their waiters; fetched messages are dropped (uncommitted, they are delivered again).
        func serveOne(waitingMilliseconds: Int32) -> Bool {
            guard let event = rd_kafka_queue_poll(self.queue, waitingMilliseconds) else { return false }
            defer { rd_kafka_event_destroy(event) }
            guard let opaque = rd_kafka_opaque(self.handle) else { return true }
            switch rd_kafka_event_type(event) {
            case RD_KAFKA_EVENT_REBALANCE:
                RDKafkaClient.handleRebalance(
                    handle: self.handle,
                    code: rd_kafka_event_error(event),
                    partitions: rd_kafka_event_topic_partition_list(event),
                    opaque: opaque
                )
            case RD_KAFKA_EVENT_OFFSET_COMMIT:
                RDKafkaClient.handleCommitAnswer(
                    RDKafkaClient.context(opaque),
                    id: UInt(bitPattern: rd_kafka_event_opaque(event)),
                    error: rd_kafka_event_error(event),
                    offsets: rd_kafka_event_topic_partition_list(event)
                )
            default:
                break
            }
            return true
        }
    }
}
