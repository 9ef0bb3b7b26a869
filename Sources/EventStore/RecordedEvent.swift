public import Foundation

/// An event to append: the store is generic over event types and sees only a type name and JSON.
public struct NewEvent: Sendable, Hashable {
    public var eventID: UUID
    public var type: String
    /// The JSON payload.
    public var data: [UInt8]

    public init(eventID: UUID = UUID(), type: String, data: [UInt8]) {
        self.eventID = eventID
        self.type = type
        self.data = data
    }
}

/// An event as stored, with its place in its stream and in the global log.
public struct RecordedEvent: Sendable, Hashable {
    public var position: Int64
    public var txid: UInt64
    public var streamID: Int64
    public var version: Int64
    public var eventID: UUID
    public var type: String
    public var data: [UInt8]
    /// Microseconds since the epoch.
    public var recordedAt: Int64
    /// The trace context of the append that wrote the event (`TraceCarrier` fields, e.g.
    /// `traceparent`); nil when no span was recording.
    public var traceContext: [String: String]?

    public init(
        position: Int64,
        txid: UInt64,
        streamID: Int64,
        version: Int64,
        eventID: UUID,
        type: String,
        data: [UInt8],
        recordedAt: Int64,
        traceContext: [String: String]? = nil
    ) {
        self.position = position
        self.txid = txid
        self.streamID = streamID
        self.version = version
        self.eventID = eventID
        self.type = type
        self.data = data
        self.recordedAt = recordedAt
        self.traceContext = traceContext
    }

    /// Where a reader of the global log continues after this event.
    public var cursor: GlobalCursor { GlobalCursor(txid: txid, position: position) }
}

/// An event's version in its stream, type and JSON payload: what a fold of the stream reads
/// (`EventStore.streamEventPayloads`).
public struct EventPayload: Sendable, Hashable {
    public var version: Int64
    public var type: String
    public var data: [UInt8]

    public init(version: Int64, type: String, data: [UInt8]) {
        self.version = version
        self.type = type
        self.data = data
    }
}

/// A place in the global log, ordered by (transaction id, position).
///
/// Positions alone are not commit order; transaction ids below the snapshot horizon are
/// final, so a reader that only passes such rows never skips an event.
public struct GlobalCursor: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var txid: UInt64
    public var position: Int64

    public init(txid: UInt64, position: Int64) {
        self.txid = txid
        self.position = position
    }

    public static let start = GlobalCursor(txid: 0, position: 0)

    public static func < (lhs: GlobalCursor, rhs: GlobalCursor) -> Bool {
        (lhs.txid, lhs.position) < (rhs.txid, rhs.position)
    }

    public var description: String { "(\(txid), \(position))" }
}

/// The stream was not at the version the writer expected: someone else appended first.
public struct VersionConflict: Error, Sendable, Hashable, CustomStringConvertible {
    public var streamID: Int64
    public var expected: Int64
    public var actual: Int64?

    public init(streamID: Int64, expected: Int64, actual: Int64?) {
        self.streamID = streamID
        self.expected = expected
        self.actual = actual
    }

    public var description: String {
        "stream \(streamID) is at version \(actual.map(String.init) ?? "unknown"), expected \(expected)"
    }
}
