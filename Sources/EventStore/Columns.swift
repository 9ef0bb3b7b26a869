import Foundation
// The SELECT list that `RecordedEvent.init(row:)` decodes, shared by every read.
import PostgresNIO

extension RecordedEvent {
    static let columns = """
        position, txid::text, stream_id, version, event_id, type, data::text,
        (extract(epoch FROM recorded_at) * 1000000)::int8, trace_context::text
        """

    init(row: PostgresRow) throws {
        let (position, txid, stream, version, eventID, type, data, recordedAt, traceContext) = try row.decode(
            (Int64, String, Int64, Int64, UUID, String, String, Int64, String?).self
        )
        guard let txid = UInt64(txid) else { throw MalformedTransactionID(text: txid) }
        self.init(
            position: position,
            txid: txid,
            streamID: stream,
            version: version,
            eventID: eventID,
            type: type,
            data: Array(data.utf8),
            recordedAt: recordedAt,
            traceContext: traceContext.flatMap(TraceCarrier.decode)
        )
    }
}

/// A transaction id column that did not hold an unsigned 64-bit integer.
struct MalformedTransactionID: Error, CustomStringConvertible {
    var text: String
    var description: String { "transaction id \(text) is not an unsigned 64-bit integer" }
}
