public import Bus
public import EventStore

extension BusEnvelope {
    /// The envelope of a stored event.
    public init(_ event: RecordedEvent) {
        self.init(
            eventID: event.eventID,
            streamID: event.streamID,
            version: event.version,
            type: event.type,
            data: event.data,
            recordedAt: event.recordedAt,
            position: event.position,
            traceContext: event.traceContext
        )
    }
}
