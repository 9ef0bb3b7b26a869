import CRdKafka
import Logging

extension RDKafkaClient {
    /// The header carrying `BusMessage.eventID`.
    static let eventIDHeader = "event_id"

    /// Creates an idempotent producer; delivery reports arrive as `.delivered` events during `poll`/`flush`.
    static func makeProducer(
        settings: [String: String],
        logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void
    ) throws -> RDKafkaClient {
        try RDKafkaClient(kind: .producer, settings: settings, logger: logger, onEvent: onEvent)
    }

    /// Enqueues one message (non-blocking; librdkafka copies the bytes). Its report carries `batchID`.
    func produce(_ message: BusMessage, topic: String, batchID: UInt64) throws {
        let key = Array(message.key.utf8)
        let eventID = Array(message.eventID.utf8)
        let failure: OpaquePointer? = try self.nonBlocking { handle in
            topic.withCString { topicName in
                Self.eventIDHeader.withCString { headerName in
                    key.withUnsafeBytes { key in
                        message.payload.withUnsafeBytes { payload in
                            eventID.withUnsafeBytes { eventID in
                                var arguments = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                                arguments[0].vtype = RD_KAFKA_VTYPE_TOPIC
                                arguments[0].u.cstr = topicName
                                arguments[1].vtype = RD_KAFKA_VTYPE_KEY
                                arguments[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                                arguments[1].u.mem.size = key.count
                                arguments[2].vtype = RD_KAFKA_VTYPE_VALUE
                                arguments[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: payload.baseAddress)
                                arguments[2].u.mem.size = payload.count
                                arguments[3].vtype = RD_KAFKA_VTYPE_HEADER
                                arguments[3].u.header.name = headerName
                                arguments[3].u.header.val = eventID.baseAddress
                                arguments[3].u.header.size = eventID.count
                                arguments[4].vtype = RD_KAFKA_VTYPE_OPAQUE
                                arguments[4].u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(batchID))
                                arguments[5].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                                arguments[5].u.i = RD_KAFKA_MSG_F_COPY
                                return rd_kafka_produceva(handle, arguments, arguments.count)
                            }
                        }
                    }
                }
            }
        }
        if let failure {
            throw Self.consume(failure, as: .produceFailed)
        }
    }

    /// Serves delivery reports (and logs, errors) for up to `timeout`; returns early when woken up.
    func poll(timeout: Duration) async throws {
        let milliseconds = timeout.milliseconds
        try await self.blocking { handle in
            _ = rd_kafka_poll(handle, milliseconds)
        }
    }

    /// Waits up to `timeout` for every enqueued message to be reported; then purges what is left so
    /// that its reports (failures) arrive too. Returns whether everything was reported before the timeout.
    func flush(timeout: Duration) async throws -> Bool {
        let milliseconds = timeout.milliseconds
        return try await self.blocking { handle in
            if rd_kafka_flush(handle, milliseconds) == RD_KAFKA_RESP_ERR_NO_ERROR {
                return true
            }
            _ = rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            _ = rd_kafka_poll(handle, 100)
            return false
        }
    }

    /// Runs inside `rd_kafka_poll`/`rd_kafka_flush` on the client's thread.
    static func handleDeliveryReport(_ message: rd_kafka_message_t, opaque: UnsafeMutableRawPointer) {
        let batchID = UInt64(UInt(bitPattern: message._private))
        let error: KafkaError? =
            if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                nil
            } else {
                Self.error(.deliveryFailed, message.err)
            }
        Self.context(opaque).onEvent(.delivered(batchID: batchID, error: error))
    }
}

extension Duration {
    /// Whole milliseconds, clamped to what librdkafka's `int` timeouts accept.
    var milliseconds: Int32 {
        let (seconds, attoseconds) = self.components
        let total = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return Int32(clamping: max(0, total))
    }
}
