import EventStore
import ICal
import Logging
import NIOCore
import PostgresNIO
import Projector

/// Assembled feeds in memory, refreshed by delta: a refresh reads only the entries changed
/// since the cached version (plus the calendar row, in the same statement so both come from
/// one snapshot). Bounded by a byte budget with least-recently-used eviction. Several API
/// processes may serve one database: each checks the calendar version on every request.
actor FeedCache {
    /// One user's cached calendar.
    struct Entry {
        var version: Int64
        var generation: Int
        var name: String
        var updatedAt: Int64
        var fragments: [Int: Fragment] = [:]
        var order: [Int] = []
        var assembled: [FeedVariant: ByteBuffer] = [:]
        var bytes = 0
        var lastUsed: UInt64 = 0
    }

    struct Fragment {
        var completed: Bool
        var event: ByteBuffer?
        var task: ByteBuffer?
        var size: Int { (event?.readableBytes ?? 0) + (task?.readableBytes ?? 0) }
    }

    /// A feed ready to serve.
    struct Feed: Sendable {
        var body: ByteBuffer
        var version: Int64
        var generation: Int
        var updatedAt: Int64
    }

    /// The projection has no calendar row for the user yet.
    struct NotProjected: Error {}

    /// The calendar does not fit in the byte budget: serve it with `FeedStreamer`.
    struct TooLarge: Error {}

    let store: EventStore
    let budgetBytes: Int
    private var entries: [Int64: Entry] = [:]
    /// Calendars found larger than the budget, at (generation, version): not loaded again
    /// until they change.
    private var oversized: [Int64: (generation: Int, version: Int64)] = [:]
    private var totalBytes = 0
    private var clock: UInt64 = 0
    private(set) var deltaRefreshes = 0
    private(set) var fullLoads = 0

    init(store: EventStore, budgetBytes: Int) {
        self.store = store
        self.budgetBytes = budgetBytes
    }

    /// The calendar row only: enough to answer a conditional request without the body.
    nonisolated func head(user: Int64) async throws -> CalendarStore.Head? {
        try await store.client.withConnection { connection in
            try await CalendarStore(logger: store.logger).head(user: user, on: connection)
        }
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
            deltaRefreshes += 1
        } else {
            do {
                entry = try await load(user: user)
            } catch is TooLarge {
                oversized[user] = (head.generation, head.version)
                entries[user].map { totalBytes -= $0.bytes }
                entries[user] = nil
                throw TooLarge()
            }
            fullLoads += 1
        }
        guard var current = entry else { throw NotProjected() }
        let body: ByteBuffer
        if let assembled = current.assembled[variant] {
            body = assembled
        } else {
            body = assemble(current, variant: variant)
            current.assembled[variant] = body
        }
        current.lastUsed = clock
        store(current, user: user)
        return Feed(body: body, version: current.version, generation: current.generation, updatedAt: current.updatedAt)
    }

    private func assemble(_ entry: Entry, variant: FeedVariant) -> ByteBuffer {
        let header = FeedAssembler.header(name: entry.name)
        var size = header.count + 15
        for id in entry.order { size += entry.fragments[id]?.size ?? 0 }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size)
        buffer.writeBytes(header)
        for id in entry.order {
            guard let fragment = entry.fragments[id] else { continue }
            let chosen: ByteBuffer? =
                switch variant {
                case .events: fragment.completed ? nil : fragment.event
                case .eventsWithCompleted: fragment.event
                case .tasks: fragment.task
                }
            if var chosen { buffer.writeBuffer(&chosen) }
        }
        buffer.writeBytes(CalendarFooter.bytes)
        return buffer
    }

    private func store(_ entry: Entry, user: Int64) {
        var entry = entry
        let previous = entries[user]?.bytes ?? 0
        entry.bytes =
            entry.fragments.values.reduce(0) { $0 + $1.size }
            + entry.assembled.values.reduce(0) {
                $0 + $1.readableBytes
            }
        totalBytes += entry.bytes - previous
        entries[user] = entry
        evict(keeping: user)
    }

    private func evict(keeping user: Int64) {
        while totalBytes > budgetBytes, entries.count > 0 {
            // A single calendar larger than the budget is not kept at all.
            guard
                let victim = entries.filter({ $0.key != user || entries.count == 1 }).min(by: {
                    $0.value.lastUsed < $1.value.lastUsed
                })
            else { return }
            totalBytes -= victim.value.bytes
            entries[victim.key] = nil
        }
    }

    var cachedBytes: Int { totalBytes }
    var cachedUsers: Int { entries.count }

    /// Reads the calendar row and the entries changed after `since` in one statement; stops
    /// with `TooLarge` as soon as the fragments exceed the budget.
    private func read(user: Int64, since: Int64?) async throws -> (
        head: (Int64, Int, String, Int64)?, rows: [(Int, Bool, Fragment)]
    ) {
        let filter = since.map { "e.changed_version > \($0)" } ?? "NOT e.deleted"
        let rows = try await store.client.query(
            """
            SELECT c.version, c.generation, c.name, extract(epoch FROM c.updated_at)::int8,
                   e.todo_id, e.deleted, e.completed, e.event, e.task
            FROM calendars c LEFT JOIN calendar_entries e ON e.user_id = c.user_id AND \(unescaped: filter)
            WHERE c.user_id = \(user)
            ORDER BY e.todo_id
            """,
            logger: store.logger
        )
        var head: (Int64, Int, String, Int64)?
        var changed: [(Int, Bool, Fragment)] = []
        var bytes = 0
        for try await (version, generation, name, updatedAt, id, deleted, completed, event, task) in rows.decode(
            (Int64, Int32, String, Int64, Int64?, Bool?, Bool?, ByteBuffer?, ByteBuffer?).self
        ) {
            head = (version, Int(generation), name, updatedAt)
            if let id {
                let fragment = Fragment(completed: completed ?? false, event: event, task: task)
                bytes += fragment.size
                if bytes > budgetBytes { throw TooLarge() }
                changed.append((Int(id), deleted ?? false, fragment))
            }
        }
        return (head, changed)
    }

    private func load(user: Int64) async throws -> Entry? {
        let (head, rows) = try await read(user: user, since: nil)
        guard let (version, generation, name, updatedAt) = head else { return nil }
        var entry = Entry(version: version, generation: generation, name: name, updatedAt: updatedAt)
        entry.order.reserveCapacity(rows.count)
        for (id, _, fragment) in rows {
            entry.fragments[id] = fragment
            entry.order.append(id)
        }
        return entry
    }

    private func refresh(_ cached: Entry, user: Int64) async throws -> Entry? {
        let (head, rows) = try await read(user: user, since: cached.version)
        guard let (version, generation, name, updatedAt) = head else { return nil }
        guard generation == cached.generation else { return try await load(user: user) }
        // A concurrent request may have refreshed further while this one waited.
        if let newer = entries[user], newer.generation == generation, newer.version >= version { return newer }
        var entry = cached
        entry.version = version
        entry.name = name
        entry.updatedAt = updatedAt
        entry.assembled = [:]
        for (id, deleted, fragment) in rows {
            if deleted {
                if entry.fragments.removeValue(forKey: id) != nil, let index = Self.position(of: id, in: entry.order) {
                    entry.order.remove(at: index)
                }
            } else {
                if entry.fragments.updateValue(fragment, forKey: id) == nil {
                    let index = Self.insertionPoint(of: id, in: entry.order)
                    entry.order.insert(id, at: index)
                }
            }
        }
        return entry
    }

    static func insertionPoint(of id: Int, in order: [Int]) -> Int {
        if let last = order.last, last < id { return order.count }
        var low = 0
        var high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] < id { low = mid + 1 } else { high = mid }
        }
        return low
    }

    static func position(of id: Int, in order: [Int]) -> Int? {
        let index = insertionPoint(of: id, in: order)
        return index < order.count && order[index] == id ? index : nil
    }
}
