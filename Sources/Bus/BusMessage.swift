/// One event on the bus: key = user (stream) id, eventID = dedup id, payload = the JSON envelope bytes.
public struct BusMessage: Sendable, Hashable {
    /// The user (stream) id; Kafka key and SQS message group, so one user's events stay in order.
    public var key: String
    /// The event id, carried as the `event_id` header so consumers can drop duplicates.
    public var eventID: String
    /// The JSON envelope bytes.
    public var payload: [UInt8]

    /// Creates a message.
    public init(key: String, eventID: String, payload: [UInt8]) {
        self.key = key
        self.eventID = eventID
        self.payload = payload
    }
}
