public import Bus
public import EventStore

extension RecordedEvent {
    /// The event an envelope describes (its transaction id is not carried on the bus).
    public init(_ envelope: BusEnvelope) {
        self.init(
            position: envelope.position,
            txid: 0,
            streamID: envelope.streamID,
            version: envelope.version,
            eventID: envelope.eventID,
            type: envelope.type,
            data: envelope.data,
            recordedAt: envelope.recordedAt,
            traceContext: envelope.traceContext
        )
    }
}
