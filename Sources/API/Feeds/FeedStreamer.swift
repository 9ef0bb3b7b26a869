import EventStore
import Hummingbird
import ICal
import Logging
import NIOCore
import PostgresNIO
import Projector

/// Serves a calendar too large for the feed cache straight from PostgreSQL: rows are written to
/// the response as they arrive, so memory stays flat whatever the calendar's size. The calendar
/// row comes with every fragment row from one statement, so the ETag describes exactly the bytes.
struct FeedStreamer: Sendable {
    let store: EventStore

    struct Opened: Sendable {
        var version: Int64
        var generation: Int
        var updatedAt: Int64
        var body: ResponseBody
    }

    func open(user: Int64, variant: FeedVariant) async throws -> Opened? {
        let (column, filter) =
            switch variant {
            case .events: ("event", "NOT e.completed AND e.event IS NOT NULL")
            case .eventsWithCompleted: ("event", "e.event IS NOT NULL")
            case .tasks: ("task", "e.task IS NOT NULL")
            }
        let rows = try await store.client.query(
            """
            SELECT c.version, c.generation, extract(epoch FROM c.updated_at)::int8, c.name, f.fragment
            FROM calendars c LEFT JOIN LATERAL (
                SELECT e.todo_id, e.\(unescaped: column) AS fragment FROM calendar_entries e
                WHERE e.user_id = c.user_id AND NOT e.deleted AND \(unescaped: filter)
            ) f ON true
            WHERE c.user_id = \(user)
            ORDER BY f.todo_id
            """,
            logger: store.logger
        ).decode((Int64, Int32, Int64, String, ByteBuffer?).self)
        // Read once, sequentially, by the one body writer below.
        nonisolated(unsafe) var iterator = rows.makeAsyncIterator()
        guard let (version, generation, updatedAt, name, first) = try await iterator.next() else { return nil }
        let body = ResponseBody { writer in
            var chunk = ByteBuffer(bytes: FeedAssembler.header(name: name))
            if var first { chunk.writeBuffer(&first) }
            while let (_, _, _, _, fragment) = try await iterator.next() {
                if var fragment { chunk.writeBuffer(&fragment) }
                if chunk.readableBytes >= 64 * 1024 {
                    try await writer.write(chunk)
                    chunk.clear()
                }
            }
            chunk.writeBytes(CalendarFooter.bytes)
            try await writer.write(chunk)
            try await writer.finish(nil)
        }
        return Opened(version: version, generation: Int(generation), updatedAt: updatedAt, body: body)
    }
}
