import EventStore
import ICal
import Logging
import NIOCore
import PostgresNIO
import Projector

/// Assembled feeds in memory, refreshed by delta: a refresh reads only the entries changed
/// since the cached version (plus the calendar row, in the same statement so both come from
/// one snapshot). A feed is kept as blocks of consecutive fragments, each assembled once per
/// variant: a change re-assembles only the blocks it touches, and the response is the list of
/// block buffers. Bounded by a byte budget with least-recently-used eviction. Several API
/// processes may serve one database: each checks the calendar version on every request.
actor FeedCache {
    /// Fragments per block (a block is split when it doubles).
    static let blockSize = 256

    struct Fragment {
        var completed: Bool
        var event: ByteBuffer?
        var task: ByteBuffer?
        var size: Int { (event?.readableBytes ?? 0) + (task?.readableBytes ?? 0) }

        init(_ row: CalendarStore.FeedRow) {
            completed = row.completed
            event = row.event
            task = row.task
        }
    }

    /// One user's cached calendar.
    struct Entry {
        var version: Int64
        var generation: Int
        var name: String
        var updatedAt: Int64
        var fragments: [Int: Fragment] = [:]
        var blocks = FeedBlocks(ids: [], blockSize: FeedCache.blockSize)
        var fragmentBytes = 0
        var lastUsed: UInt64 = 0
        var bytes: Int { fragmentBytes + blocks.assembledBytes }

        init(head: CalendarStore.Head) {
            version = head.version
            generation = head.generation
            name = head.settings.name
            updatedAt = head.updatedAt
        }
    }

    /// A feed ready to serve: the header, one buffer per block, the footer.
    struct Feed: Sendable {
        var parts: [ByteBuffer]
        var length: Int
        var version: Int64
        var generation: Int
        var updatedAt: Int64

        /// The whole feed as one buffer (job results).
        var joined: ByteBuffer {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(length)
            for var part in parts { buffer.writeBuffer(&part) }
            return buffer
        }
    }

    /// The projection has no calendar row for the user yet.
    struct NotProjected: Error {}

    /// The calendar does not fit in the byte budget: serve it with `FeedStreamer`.
    struct TooLarge: Error {}

    let store: EventStore
    let calendars: CalendarStore
    let budgetBytes: Int
    private var entries: [Int64: Entry] = [:]
    /// Calendars found larger than the budget, at (generation, version): not loaded again
    /// until they change.
    private var oversized: [Int64: (generation: Int, version: Int64)] = [:]
    private var totalBytes = 0
    private var clock: UInt64 = 0
    private var loads = 0
    private var refreshes = 0

    init(store: EventStore, budgetBytes: Int) {
        self.store = store
        self.calendars = CalendarStore(logger: store.logger)
        self.budgetBytes = budgetBytes
    }

    /// What the cache holds and how often it read calendars (for tests and diagnostics).
    var statistics: FeedCacheStatistics {
        FeedCacheStatistics(
            loads: loads,
            refreshes: refreshes,
            entries: entries.count,
            bytes: totalBytes,
            budgetBytes: budgetBytes
        )
    }

    /// The calendar row only: enough to answer a conditional request without the body.
    nonisolated func head(user: Int64) async throws -> CalendarStore.Head? {
        try await store.client.withConnection { try await calendars.head(user: user, on: $0) }
    }

    func feed(user: Int64, variant: FeedVariant, head: CalendarStore.Head) async throws -> Feed {
        clock += 1
        if let known = oversized[user], known.generation == head.generation, known.version == head.version {
            throw TooLarge()
        }
        var entry = entries[user]
        if let cached = entry, cached.generation == head.generation, cached.version >= head.version {
            // Fresh enough: another request may already have refreshed past `head`.
        } else if let cached = entry, cached.generation == head.generation {
            entry = try await refresh(cached, user: user)
        } else {
            do {
                entry = try await load(user: user)
            } catch is TooLarge {
                oversized[user] = (head.generation, head.version)
                forget(user)
                throw TooLarge()
            }
        }
        guard var current = entry else { throw NotProjected() }
        let header = ByteBuffer(bytes: FeedAssembler.header(name: current.name))
        let fragments = current.fragments
        let blocks = current.blocks.parts(variant) { id in
            fragments[id].flatMap { variant.fragment(event: $0.event, task: $0.task, completed: $0.completed) }
        }
        var parts = [header]
        parts.reserveCapacity(blocks.count + 2)
        parts += blocks
        let length = blocks.reduce(header.readableBytes + CalendarFooter.bytes.count) { $0 + $1.readableBytes }
        parts.append(ByteBuffer(bytes: CalendarFooter.bytes))
        current.lastUsed = clock
        keep(current, user: user)
        return Feed(
            parts: parts,
            length: length,
            version: current.version,
            generation: current.generation,
            updatedAt: current.updatedAt
        )
    }

    private func keep(_ entry: Entry, user: Int64) {
        totalBytes += entry.bytes - (entries[user]?.bytes ?? 0)
        entries[user] = entry
        while totalBytes > budgetBytes, entries.count > 1 {
            // Least recently used first; the calendar just served stays.
            guard let victim = entries.filter({ $0.key != user }).min(by: { $0.value.lastUsed < $1.value.lastUsed })
            else { break }
            forget(victim.key)
        }
        if totalBytes > budgetBytes {
            // A single calendar larger than the budget is not kept at all.
            forget(user)
        }
    }

    private func forget(_ user: Int64) {
        if let entry = entries.removeValue(forKey: user) { totalBytes -= entry.bytes }
    }

    /// Reads the calendar row and the entries changed after `since` (all live ones when nil) in
    /// one statement; stops with `TooLarge` as soon as the fragments exceed the budget.
    private func read(user: Int64, since: Int64?) async throws -> (
        head: CalendarStore.Head, rows: [CalendarStore.FeedRow]
    )? {
        let selection: CalendarStore.FeedSelection = since.map { .changed(after: $0) } ?? .live
        guard var read = try await calendars.readFeed(user: user, selection: selection, client: store.client) else {
            return nil
        }
        var rows: [CalendarStore.FeedRow] = []
        var bytes = 0
        while let row = try await read.next() {
            bytes += (row.event?.readableBytes ?? 0) + (row.task?.readableBytes ?? 0)
            if bytes > budgetBytes { throw TooLarge() }
            rows.append(row)
        }
        return (read.head, rows)
    }

    private func load(user: Int64) async throws -> Entry? {
        loads += 1
        guard let (head, rows) = try await read(user: user, since: nil) else { return nil }
        var entry = Entry(head: head)
        entry.fragments.reserveCapacity(rows.count)
        for row in rows {
            let fragment = Fragment(row)
            entry.fragments[row.todoID] = fragment
            entry.fragmentBytes += fragment.size
        }
        entry.blocks = FeedBlocks(ids: rows.map(\.todoID), blockSize: Self.blockSize)
        return entry
    }

    private func refresh(_ cached: Entry, user: Int64) async throws -> Entry? {
        refreshes += 1
        guard let (head, rows) = try await read(user: user, since: cached.version) else { return nil }
        guard head.generation == cached.generation else { return try await load(user: user) }
        // A concurrent request may have refreshed further while this one waited.
        if let newer = entries[user], newer.generation == head.generation, newer.version >= head.version {
            return newer
        }
        var entry = cached
        entry.version = head.version
        entry.updatedAt = head.updatedAt
        entry.name = head.settings.name
        for row in rows {
            let fragment = Fragment(row)
            let previous =
                row.deleted
                ? entry.fragments.removeValue(forKey: row.todoID)
                : entry.fragments.updateValue(fragment, forKey: row.todoID)
            entry.fragmentBytes += (row.deleted ? 0 : fragment.size) - (previous?.size ?? 0)
            if row.deleted {
                if previous != nil { entry.blocks.remove(row.todoID) }
            } else if previous == nil {
                entry.blocks.insert(row.todoID)
            } else {
                entry.blocks.invalidate(containing: row.todoID)
            }
        }
        return entry
    }
}

/// A snapshot of a feed cache's work and contents.
public struct FeedCacheStatistics: Sendable, Hashable {
    /// Whole calendars read from the database (including reads stopped as too large).
    public var loads: Int
    /// Delta reads (entries changed since the cached version).
    public var refreshes: Int
    /// Calendars held.
    public var entries: Int
    /// Bytes counted against the budget.
    public var bytes: Int
    public var budgetBytes: Int
}
