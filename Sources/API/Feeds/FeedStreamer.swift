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

    /// Entries per page read from PostgreSQL.
    var pageSize = 250

    /// The calendar changed between two pages of one response: the response is cut off (the
    /// client sees a broken transfer and polls again) rather than mixing two versions under one
    /// ETag.
    struct ChangedWhileStreaming: Error {}

    func open(user: Int64, variant: FeedVariant) async throws -> Opened? {
        let calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
        let client = store.client
        let pageSize = self.pageSize
        guard
            let (head, first) = try await calendars.readFeedPage(
                user: user,
                variant: variant,
                after: 0,
                limit: pageSize,
                client: client
            )
        else { return nil }
        // Page by page: a slow client holds memory for one page and no database connection.
        let body = ResponseBody { writer in
            var chunk = ByteBuffer(bytes: FeedAssembler.header(name: head.settings.name))
            var rows = first
            while true {
                for row in rows {
                    if var fragment = row.fragment(variant) { chunk.writeBuffer(&fragment) }
                    if chunk.readableBytes >= 64 * 1024 {
                        try await writer.write(chunk)
                        chunk.clear()
                    }
                }
                guard rows.count == pageSize, let last = rows.last else { break }
                guard
                    let (next, more) = try await calendars.readFeedPage(
                        user: user,
                        variant: variant,
                        after: last.todoID,
                        limit: pageSize,
                        client: client
                    ), next.version == head.version, next.generation == head.generation
                else { throw ChangedWhileStreaming() }
                rows = more
            }
            chunk.writeBytes(CalendarFooter.bytes)
            try await writer.write(chunk)
            try await writer.finish(nil)
        }
        return Opened(version: head.version, generation: head.generation, updatedAt: head.updatedAt, body: body)
    }
}
