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
        let calendars = CalendarStore(logger: store.logger)
        guard let read = try await calendars.readFeed(user: user, selection: .variant(variant), client: store.client)
        else { return nil }
        let head = read.head
        // Read once, sequentially, by the one body writer below.
        nonisolated(unsafe) var rows = read
        let body = ResponseBody { writer in
            var chunk = ByteBuffer(bytes: FeedAssembler.header(name: head.settings.name))
            while let row = try await rows.next() {
                if var fragment = row.fragment(variant) { chunk.writeBuffer(&fragment) }
                if chunk.readableBytes >= 64 * 1024 {
                    try await writer.write(chunk)
                    chunk.clear()
                }
            }
            chunk.writeBytes(CalendarFooter.bytes)
            try await writer.write(chunk)
            try await writer.finish(nil)
        }
        return Opened(version: head.version, generation: head.generation, updatedAt: head.updatedAt, body: body)
    }
}
