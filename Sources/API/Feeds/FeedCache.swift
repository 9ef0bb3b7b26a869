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

        func part(_ variant: FeedVariant) -> ByteBuffer? {
            switch variant {
            case .events: completed ? nil : event
            case .eventsWithCompleted: event
            case .tasks: task
            }
        }
    }

    /// Consecutive todo ids and their assembled bytes per variant.
    struct Block {
        var ids: [Int]
        var assembled: [FeedVariant: ByteBuffer] = [:]
        var assembledBytes: Int { assembled.values.reduce(0) { $0 + $1.readableBytes } }
    }

    /// One user's cached calendar.
    struct Entry {
        var version: Int64
        var generation: Int
        var name: String
        var updatedAt: Int64
        var fragments: [Int: Fragment] = [:]
        var blocks: [Block] = []
        var fragmentBytes = 0
        var assembledBytes = 0
        var lastUsed: UInt64 = 0
        var bytes: Int { fragmentBytes + assembledBytes }
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
    let budgetBytes: Int
    private var entries: [Int64: Entry] = [:]
    /// Calendars found larger than the budget, at (generation, version): not loaded again
    /// until they change.
    private var oversized: [Int64: (generation: Int, version: Int64)] = [:]
    private var totalBytes = 0
    private var clock: UInt64 = 0

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
        var parts = [header]
        parts.reserveCapacity(current.blocks.count + 2)
        var length = header.readableBytes + CalendarFooter.bytes.count
        for index in current.blocks.indices {
            let part: ByteBuffer
            if let assembled = current.blocks[index].assembled[variant] {
                part = assembled
            } else {
                part = assemble(current.blocks[index], fragments: current.fragments, variant: variant)
                current.blocks[index].assembled[variant] = part
                current.assembledBytes += part.readableBytes
            }
            if part.readableBytes > 0 {
                parts.append(part)
                length += part.readableBytes
            }
        }
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

    private func assemble(_ block: Block, fragments: [Int: Fragment], variant: FeedVariant) -> ByteBuffer {
        var size = 0
        for id in block.ids { size += fragments[id]?.part(variant)?.readableBytes ?? 0 }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(size)
        for id in block.ids {
            if var part = fragments[id]?.part(variant) { buffer.writeBuffer(&part) }
        }
        return buffer
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
        entry.fragments.reserveCapacity(rows.count)
        for (id, _, fragment) in rows {
            entry.fragments[id] = fragment
            entry.fragmentBytes += fragment.size
        }
        let ids = rows.map(\.0)
        entry.blocks = stride(from: 0, to: ids.count, by: Self.blockSize).map {
            Block(ids: Array(ids[$0..<min($0 + Self.blockSize, ids.count)]))
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
        entry.updatedAt = updatedAt
        if name != entry.name {
            entry.name = name
        }
        for (id, deleted, fragment) in rows {
            let previous =
                deleted ? entry.fragments.removeValue(forKey: id) : entry.fragments.updateValue(fragment, forKey: id)
            entry.fragmentBytes += (deleted ? 0 : fragment.size) - (previous?.size ?? 0)
            if deleted {
                if previous != nil { Self.remove(id, from: &entry) }
            } else if previous == nil {
                Self.insert(id, into: &entry)
            } else {
                Self.invalidateBlock(containing: id, in: &entry)
            }
        }
        return entry
    }

    /// The index of the block that holds (or would hold) `id`.
    static func blockIndex(for id: Int, in blocks: [Block]) -> Int {
        var low = 0
        var high = blocks.count
        while low < high {
            let mid = (low + high) / 2
            if let first = blocks[mid].ids.first, first <= id { low = mid + 1 } else { high = mid }
        }
        return max(0, low - 1)
    }

    static func invalidateBlock(containing id: Int, in entry: inout Entry) {
        guard !entry.blocks.isEmpty else { return }
        let index = blockIndex(for: id, in: entry.blocks)
        entry.assembledBytes -= entry.blocks[index].assembledBytes
        entry.blocks[index].assembled = [:]
    }

    static func insert(_ id: Int, into entry: inout Entry) {
        if entry.blocks.isEmpty { entry.blocks = [Block(ids: [])] }
        let index = blockIndex(for: id, in: entry.blocks)
        invalidateBlock(containing: id, in: &entry)
        var ids = entry.blocks[index].ids
        ids.insert(id, at: insertionPoint(of: id, in: ids))
        if ids.count >= 2 * blockSize {
            let half = ids.count / 2
            entry.blocks[index].ids = Array(ids[..<half])
            entry.blocks.insert(Block(ids: Array(ids[half...])), at: index + 1)
        } else {
            entry.blocks[index].ids = ids
        }
    }

    static func remove(_ id: Int, from entry: inout Entry) {
        guard !entry.blocks.isEmpty else { return }
        let index = blockIndex(for: id, in: entry.blocks)
        invalidateBlock(containing: id, in: &entry)
        let position = insertionPoint(of: id, in: entry.blocks[index].ids)
        if position < entry.blocks[index].ids.count, entry.blocks[index].ids[position] == id {
            entry.blocks[index].ids.remove(at: position)
        }
        if entry.blocks[index].ids.isEmpty, entry.blocks.count > 1 { entry.blocks.remove(at: index) }
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
}
