import EventStore
import Gzip
import ICal
import Logging
import NIOCore
import PostgresNIO
import Projector
import Synchronization

/// Assembled feeds in memory, refreshed by delta: a refresh reads only the entries changed
/// since the cached version (plus the calendar row, in the same statement so both come from
/// one snapshot). A feed is kept as blocks of consecutive fragments, each assembled once per
/// variant and, for clients that accept gzip, compressed once per variant: a change
/// re-assembles and recompresses only the blocks it touches, and the response is the list of
/// block buffers. Several API processes may serve one database: each checks the calendar
/// version on every request.
///
/// Memory is bounded by a byte budget (fragments, assembled and compressed blocks, and a fixed
/// cost per calendar), least recently used out first. A calendar whose fragments exceed a
/// third of the budget is not admitted: it is streamed (`FeedStreamer`) until it changes, so
/// that no calendar can be dropped and read again on every poll, nor push all others out.
/// One read per calendar at a time: concurrent requests that miss wait for the same read.
actor FeedCache {
    /// Fragments per block (a block is split when it doubles).
    static let blockSize = 256
    /// Counted for every calendar held besides its bytes (the entry, its tables, its header), so
    /// that empty calendars are not free.
    static let entryOverhead = 1024
    /// A calendar is admitted while its fragments take at most 1/`admissionDivisor` of the budget.
    static let admissionDivisor = 3

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
        /// Unique in this cache: identifies one load of the calendar (a compression made for one
        /// load is never kept in another).
        var incarnation: UInt64
        var version: Int64
        var generation: Int
        var name: String
        var updatedAt: Int64
        var fragments: [Int: Fragment] = [:]
        var blocks = FeedBlocks(ids: [], blockSize: FeedCache.blockSize)
        var fragmentBytes = 0
        var header: ByteBuffer
        var deflatedHeader: GzipPart?
        var bytes: Int {
            FeedCache.entryOverhead + fragmentBytes + blocks.bytes + header.readableBytes
                + (deflatedHeader?.bytes.readableBytes ?? 0)
        }

        init(head: CalendarStore.Head, incarnation: UInt64) {
            self.incarnation = incarnation
            version = head.version
            generation = head.generation
            name = head.settings.name
            updatedAt = head.updatedAt
            header = ByteBuffer(bytes: FeedAssembler.header(name: name))
        }

        var marker: Marker { Marker(generation: generation, version: version) }

        mutating func rename(_ newName: String) {
            guard newName != name else { return }
            name = newName
            header = ByteBuffer(bytes: FeedAssembler.header(name: newName))
            deflatedHeader = nil
        }
    }

    /// A calendar state: (generation, version). A rebuild bumps the generation.
    struct Marker: Hashable, Sendable {
        var generation: Int
        var version: Int64

        init(generation: Int, version: Int64) {
            self.generation = generation
            self.version = version
        }

        init(_ head: CalendarStore.Head) {
            self.init(generation: head.generation, version: head.version)
        }

        func covers(_ head: CalendarStore.Head) -> Bool {
            generation > head.generation || (generation == head.generation && version >= head.version)
        }
    }

    /// A feed ready to serve: the header, one buffer per block, the footer (identity); or the
    /// gzip header, the same compressed, and the gzip closing.
    struct Feed: Sendable {
        var parts: [ByteBuffer]
        var length: Int
        var version: Int64
        var generation: Int
        var updatedAt: Int64
        var encoding: FeedEncoding

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

    /// The calendar is not admitted to the cache: serve it with `FeedStreamer`.
    struct TooLarge: Error {}

    let store: EventStore
    let calendars: CalendarStore
    let budgetBytes: Int
    /// The zlib level of the compressed blocks.
    let gzipLevel: CompressionLevel
    /// What the ETag of a gzip answer adds inside the quotes of the identity one
    /// (`AlmanacAPI.gzipTagSuffix(level:)`): a restart with another level sends every gzip client
    /// the feed once more, never other bytes under a tag it holds.
    nonisolated let gzipTagSuffix: String
    private var entries: [Int64: Entry] = [:]
    private var recency = RecencyList()
    private var totalBytes = 0
    private var incarnations: UInt64 = 0
    /// Calendars not admitted, at the state found too large: streamed, not read again, until they
    /// change. Read without the actor by `isStreamed`, to pick the representation of a poll.
    private nonisolated let oversized = Mutex<[Int64: Marker]>([:])
    /// The read in flight per user: concurrent misses wait for it.
    private var reading: [Int64: (id: UInt64, task: Task<Marker?, any Error>)] = [:]
    /// The compression in flight per user and variant.
    private var compressing: [CompressionKey: (id: UInt64, task: Task<[GzipPart], Never>)] = [:]
    private var tasks: UInt64 = 0
    private var loads = 0
    private var refreshes = 0
    private var compressedBlocks = 0

    private struct CompressionKey: Hashable {
        var user: Int64
        var variant: FeedVariant
    }

    init(store: EventStore, budgetBytes: Int, gzipLevel: CompressionLevel = GzipPart.level) {
        self.store = store
        self.calendars = CalendarStore(logger: store.logger, preparedStatements: store.preparedStatements)
        self.budgetBytes = budgetBytes
        self.gzipLevel = gzipLevel
        gzipTagSuffix = AlmanacAPI.gzipTagSuffix(level: Int(gzipLevel.rawValue))
        FeedMetrics.register(budgetBytes: budgetBytes)
    }

    /// Fragment bytes above which a calendar is streamed instead of cached.
    var admissionBytes: Int { budgetBytes / Self.admissionDivisor }

    /// What the cache holds and how often it read calendars (for tests and diagnostics).
    var statistics: FeedCacheStatistics {
        FeedCacheStatistics(
            loads: loads,
            refreshes: refreshes,
            compressedBlocks: compressedBlocks,
            entries: entries.count,
            bytes: totalBytes,
            budgetBytes: budgetBytes
        )
    }

    /// The calendar row only: enough to answer a conditional request without the body.
    nonisolated func head(user: Int64) async throws -> CalendarStore.Head? {
        try await store.client.leased { try await calendars.head(user: user, on: $0) }
    }

    /// Whether the calendar at `head` is known to be streamed rather than cached (streamed
    /// feeds are sent identity-encoded), without waiting for the actor.
    nonisolated func isStreamed(user: Int64, head: CalendarStore.Head) -> Bool {
        oversized.withLock { $0[user]?.covers(head) ?? false }
    }

    func feed(
        user: Int64,
        variant: FeedVariant,
        head: CalendarStore.Head,
        encoding: FeedEncoding = .identity
    ) async throws -> Feed {
        var waited = false
        while true {
            try await fresh(user: user, head: head)
            // `fresh` returned with the entry in place and nothing awaited since.
            guard let snapshot = assemble(user: user, variant: variant) else { throw NotProjected() }
            if encoding == .identity { return snapshot.identity }
            if let feed = snapshot.gzip(compressed: [], header: nil) { return feed }
            let key = CompressionKey(user: user, variant: variant)
            if let running = compressing[key], !waited {
                // Another request is compressing this feed: use what it keeps, then compress
                // only what is still missing.
                waited = true
                _ = await running.task.value
                continue
            }
            tasks += 1
            let id = tasks
            let task = Task { await self.compress(snapshot, key: key, id: id) }
            if compressing[key] == nil { compressing[key] = (id, task) }
            let compressed = await task.value
            let header = compressed.count > snapshot.missing.count ? compressed.last : nil
            guard let feed = snapshot.gzip(compressed: compressed, header: header) else {
                preconditionFailure("every missing block was compressed")
            }
            return feed
        }
    }

    /// Makes `entries[user]` hold `head`'s state or a later one, reading the database at most once
    /// at a time per user: a request that misses while the calendar is being read waits for that
    /// read instead of starting its own.
    private func fresh(user: Int64, head: CalendarStore.Head) async throws {
        // Bounded: a calendar read and evicted again before its reader resumes (the budget taken
        // by newer calendars within that instant) is read again, but not forever.
        if !isStreamed(user: user, head: head), let version = entries[user]?.marker, version.covers(head) {
            FeedMetrics.hit()
            return
        }
        FeedMetrics.miss()
        for _ in 0..<4 {
            if isStreamed(user: user, head: head) { throw TooLarge() }
            if let version = entries[user]?.marker, version.covers(head) { return }
            if let running = reading[user] {
                guard try await Self.value(of: running.task) != nil else { throw NotProjected() }
                // That read may have begun before `head` was read: check again.
                continue
            }
            tasks += 1
            let id = tasks
            let task = Task { try await self.fetch(user: user, id: id) }
            reading[user] = (id, task)
            guard try await Self.value(of: task) != nil else { throw NotProjected() }
            if isStreamed(user: user, head: head) { throw TooLarge() }
            // Serve what was read even if `head` (from memory) is somehow ahead of it.
            if entries[user] != nil { return }
        }
        throw NotProjected()
    }

    /// `task`'s value, or `CancellationError` as soon as the caller is cancelled (a request past its
    /// deadline), while `task` goes on (it fills the cache for the requests after). Awaiting
    /// `task.value` directly ignores the caller's cancellation: with the database unreachable a
    /// feed request waited for the read as long as the outage lasted, and `RequestDeadlineRace`,
    /// which waits for its handler to end, answered its 503 that late.
    private static func value<T: Sendable>(of task: Task<T, any Error>) async throws -> T {
        let first = FirstOutcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                guard first.install(continuation) else { return }
                Task {
                    do { first.finish(.success(try await task.value)) } catch { first.finish(.failure(error)) }
                }
            }
        } onCancel: {
            first.finish(.failure(CancellationError()))
        }
    }

    /// The one read of a user's calendar in flight: by delta from the cached entry when there is
    /// one of the same generation, whole otherwise. Keeps the result in the cache (or marks the
    /// calendar streamed) and returns the state read; nil when the calendar has no row yet.
    private func fetch(user: Int64, id: UInt64) async throws -> Marker? {
        defer {
            if reading[user]?.id == id { reading[user] = nil }
        }
        do {
            if let base = entries[user].map({ (incarnation: $0.incarnation, marker: $0.marker) }) {
                switch try await refresh(user: user, base: base) {
                case .applied(let marker): return marker
                case .notProjected: return nil
                case .reload: break
                }
            }
            return try await load(user: user)
        } catch let tooLarge as Oversized {
            oversized.withLock { $0[user] = tooLarge.marker }
            forget(user)
            throw TooLarge()
        }
    }

    /// The calendar is larger than the cache admits, at `marker`.
    private struct Oversized: Error {
        var marker: Marker
    }

    private enum Refreshed {
        case applied(Marker)
        case notProjected
        /// The cached entry is gone or the calendar was rebuilt: read it whole.
        case reload
    }

    private func load(user: Int64) async throws -> Marker? {
        loads += 1
        guard let (head, rows) = try await read(user: user, since: nil) else {
            forget(user)
            return nil
        }
        incarnations += 1
        var entry = Entry(head: head, incarnation: incarnations)
        entry.fragments.reserveCapacity(rows.count)
        for row in rows {
            let fragment = Fragment(row)
            entry.fragments[row.todoID] = fragment
            entry.fragmentBytes += fragment.size
        }
        entry.blocks = FeedBlocks(ids: rows.map(\.todoID), blockSize: Self.blockSize)
        oversized.withLock { _ = $0.removeValue(forKey: user) }
        keep(entry, user: user)
        return Marker(head)
    }

    /// Applies the entries changed since `base` to the cached entry, in place (its tables are
    /// not copied: nothing else holds them).
    private func refresh(user: Int64, base: (incarnation: UInt64, marker: Marker)) async throws -> Refreshed {
        refreshes += 1
        guard let (head, rows) = try await read(user: user, since: base.marker.version) else {
            forget(user)
            return .notProjected
        }
        guard head.generation == base.marker.generation, entries[user]?.incarnation == base.incarnation,
            entries[user]?.marker == base.marker
        else { return .reload }
        let before = entries[user]!.bytes
        let grown = Self.apply(rows, head: head, to: &entries[user]!)
        totalBytes += entries[user]!.bytes - before
        if grown > admissionBytes { throw Oversized(marker: Marker(head)) }
        evict(keeping: user)
        return .applied(Marker(head))
    }

    /// Applies changed rows; returns the fragment bytes after.
    private static func apply(_ rows: [CalendarStore.FeedRow], head: CalendarStore.Head, to entry: inout Entry) -> Int {
        entry.version = head.version
        entry.updatedAt = head.updatedAt
        entry.rename(head.settings.name)
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
        return entry.fragmentBytes
    }

    /// Reads the calendar row and the entries changed after `since` (all live ones when nil) in
    /// one statement; stops with `Oversized` as soon as the fragments exceed the admission limit.
    private func read(user: Int64, since: Int64?) async throws -> (
        head: CalendarStore.Head, rows: [CalendarStore.FeedRow]
    )? {
        let selection: CalendarStore.FeedSelection = since.map { .changed(after: $0) } ?? .live
        let calendars = self.calendars
        let limit = admissionBytes
        return try await store.client.leased { connection in
            guard var read = try await calendars.readFeed(user: user, selection: selection, on: connection) else {
                return nil
            }
            var rows: [CalendarStore.FeedRow] = []
            var bytes = 0
            while let row = try await read.next() {
                bytes += (row.event?.readableBytes ?? 0) + (row.task?.readableBytes ?? 0)
                if bytes > limit { throw Oversized(marker: Marker(read.head)) }
                rows.append(row)
            }
            return (read.head, rows)
        }
    }

    // MARK: Serving

    /// What one response is made of, taken from the entry without awaiting.
    struct Snapshot: Sendable {
        var user: Int64
        var incarnation: UInt64
        var variant: FeedVariant
        var version: Int64
        var generation: Int
        var updatedAt: Int64
        var header: ByteBuffer
        var deflatedHeader: GzipPart?
        var parts: [FeedBlocks.Part]

        /// The blocks to compress for a gzip answer (those without their compression), in order.
        var missing: [ByteBuffer] {
            parts.filter { $0.deflated == nil }.map(\.bytes)
        }

        var identity: Feed {
            var buffers = [header]
            buffers.reserveCapacity(parts.count + 2)
            var length = header.readableBytes + CalendarFooter.bytes.count
            for part in parts {
                buffers.append(part.bytes)
                length += part.bytes.readableBytes
            }
            buffers.append(ByteBuffer(bytes: CalendarFooter.bytes))
            return feed(buffers, length: length, encoding: .identity)
        }

        /// The gzip answer, with `compressed` standing in for the blocks missing (in the order of
        /// `missing`) and `header` for a missing header; nil if something is still missing.
        func gzip(compressed: [GzipPart], header: GzipPart?) -> Feed? {
            guard let header = deflatedHeader ?? header else { return nil }
            var pieces = [header]
            pieces.reserveCapacity(parts.count + 2)
            var next = compressed.startIndex
            for part in parts {
                if let deflated = part.deflated {
                    pieces.append(deflated)
                } else {
                    guard next < compressed.endIndex else { return nil }
                    pieces.append(compressed[next])
                    next += 1
                }
            }
            pieces.append(GzipPart.footer)
            let (buffers, length) = GzipPart.stream(pieces)
            return feed(buffers, length: length, encoding: .gzip)
        }

        private func feed(_ buffers: [ByteBuffer], length: Int, encoding: FeedEncoding) -> Feed {
            Feed(
                parts: buffers,
                length: length,
                version: version,
                generation: generation,
                updatedAt: updatedAt,
                encoding: encoding
            )
        }
    }

    /// Assembles what is missing of `variant` in the cached entry, in place, and takes a snapshot.
    private func assemble(user: Int64, variant: FeedVariant) -> Snapshot? {
        // No copy of the entry is bound here: its blocks are changed in place.
        guard entries[user] != nil else { return nil }
        let fragments = entries[user]!.fragments
        let before = entries[user]!.bytes
        let parts = entries[user]!.blocks.assemble(variant) { id in
            fragments[id].flatMap { variant.fragment(event: $0.event, task: $0.task, completed: $0.completed) }
        }
        totalBytes += entries[user]!.bytes - before
        let snapshot = entries[user].map { entry in
            Snapshot(
                user: user,
                incarnation: entry.incarnation,
                variant: variant,
                version: entry.version,
                generation: entry.generation,
                updatedAt: entry.updatedAt,
                header: entry.header,
                deflatedHeader: entry.deflatedHeader,
                parts: parts
            )
        }
        evict(keeping: user)
        return snapshot
    }

    /// Compresses what `snapshot` misses off the actor, keeps it in the entry unless the blocks
    /// changed meanwhile, and returns it: the missing blocks in order, then the header if it was
    /// missing.
    private func compress(_ snapshot: Snapshot, key: CompressionKey, id: UInt64) async -> [GzipPart] {
        var buffers = snapshot.missing
        let missingBlocks = buffers.count
        if snapshot.deflatedHeader == nil { buffers.append(snapshot.header) }
        let compressed = await GzipPart.compressYielding(buffers, level: gzipLevel)
        compressedBlocks += buffers.count
        if compressing[key]?.id == id { compressing[key] = nil }
        let user = key.user
        if entries[user]?.incarnation == snapshot.incarnation {
            let before = entries[user]!.bytes
            var next = 0
            for part in snapshot.parts where part.deflated == nil {
                entries[user]!.blocks.keep(compressed[next], variant: snapshot.variant, for: part)
                next += 1
            }
            if missingBlocks < compressed.count, entries[user]!.deflatedHeader == nil,
                entries[user]!.header == snapshot.header
            {
                entries[user]!.deflatedHeader = compressed[missingBlocks]
            }
            totalBytes += entries[user]!.bytes - before
            evict(keeping: user)
        }
        return compressed
    }

    // MARK: Budget

    private func keep(_ entry: Entry, user: Int64) {
        totalBytes += entry.bytes - (entries[user]?.bytes ?? 0)
        entries[user] = entry
        evict(keeping: user)
    }

    private func touch(_ user: Int64) {
        recency.touch(user)
    }

    /// Evicts least recently used calendars until the budget holds; the calendar just served
    /// stays unless it alone exceeds the budget, in which case it is streamed until it changes.
    private func evict(keeping user: Int64) {
        touch(user)
        while totalBytes > budgetBytes, let oldest = recency.oldest, oldest != user {
            forget(oldest)
            FeedMetrics.evicted()
        }
        if totalBytes > budgetBytes, let entry = entries[user] {
            oversized.withLock { $0[user] = Marker(generation: entry.generation, version: entry.version) }
            forget(user)
            FeedMetrics.evicted()
        }
        reportSize()
    }

    private func forget(_ user: Int64) {
        if let entry = entries.removeValue(forKey: user) { totalBytes -= entry.bytes }
        recency.remove(user)
        reportSize()
    }

    private func reportSize() {
        FeedMetrics.size(bytes: totalBytes, entries: entries.count)
    }
}

/// Users in order of last use, least recent first: touching, removing and finding the oldest
/// cost O(1), whatever the number of calendars held.
struct RecencyList {
    private var links: [Int64: (older: Int64?, newer: Int64?)] = [:]
    private(set) var oldest: Int64?
    private(set) var newest: Int64?

    var count: Int { links.count }

    /// Makes `user` the most recent.
    mutating func touch(_ user: Int64) {
        if newest == user { return }
        remove(user)
        links[user] = (older: newest, newer: nil)
        if let newest { links[newest]?.newer = user }
        newest = user
        if oldest == nil { oldest = user }
    }

    mutating func remove(_ user: Int64) {
        guard let link = links.removeValue(forKey: user) else { return }
        if let older = link.older { links[older]?.newer = link.newer } else { oldest = link.newer }
        if let newer = link.newer { links[newer]?.older = link.older } else { newest = link.older }
    }
}

/// A snapshot of a feed cache's work and contents.
public struct FeedCacheStatistics: Sendable, Hashable {
    /// Whole calendars read from the database (including reads stopped as too large).
    public var loads: Int
    /// Delta reads (entries changed since the cached version).
    public var refreshes: Int
    /// Blocks (and headers) compressed for gzip answers.
    public var compressedBlocks: Int
    /// Calendars held.
    public var entries: Int
    /// Bytes counted against the budget.
    public var bytes: Int
    public var budgetBytes: Int
}
