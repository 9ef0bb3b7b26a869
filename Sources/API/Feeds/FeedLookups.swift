import EventStore
import Logging
import PostgresNIO
import Projector
import ServiceLifecycle
import Synchronization

/// Per-process memory of feed tokens and calendar rows, so that a poll answered 304 costs no
/// database round trip. It is trusted only while `FeedChangeListener` is LISTENing: every
/// projection write and token rotation NOTIFYs, and the listener forgets that user's calendar
/// row (and, for a rotation, its tokens).
final class FeedLookups: Sendable {
    private struct State {
        var live = false
        /// Bumped by every invalidation: a value read from the database before an
        /// invalidation is not stored after it.
        var epoch: UInt64 = 0
        var heads: [Int64: RememberedHead] = [:]
        /// Descriptions kept with the rows in `heads`, in all (they count against the capacity).
        var descriptions = 0
        var tokens: [String: Int64] = [:]
        /// The same tokens by user, so that forgetting a user costs its own tokens only.
        var tokensByUser: [Int64: Set<String>] = [:]
        /// The last barrier notification heard (see `barrierPrefix`).
        var barrier: String?
        /// Remembered tokens looked at by invalidations, in total (the cost of forgetting).
        var tokensVisited = 0

        /// Forgets the row of `user` and the descriptions kept with it.
        mutating func dropHead(user: Int64) {
            if let dropped = heads.removeValue(forKey: user) { descriptions -= dropped.described.count }
        }

        mutating func dropAllHeads() {
            heads.removeAll()
            descriptions = 0
        }
    }

    /// Notifications whose payload starts with this are barriers: when one is heard, every
    /// notification committed before it has been applied (one listener hears a channel in
    /// commit order). Tests use them instead of sleeping.
    static let barrierPrefix = "barrier:"

    /// The last barrier heard.
    var lastBarrier: String? { state.withLock { $0.barrier } }

    func pass(barrier: String) {
        state.withLock { $0.barrier = barrier }
    }

    private let state = Mutex(State())
    /// Entries kept at most: tokens, and rows with their descriptions (a row and a description
    /// are a few hundred bytes each); beyond it the memory is simply cleared.
    let capacity: Int

    init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// The epoch to pass back to `remember`, or nil when nothing may be cached.
    func begin() -> UInt64? {
        state.withLock { $0.live ? $0.epoch : nil }
    }

    func head(user: Int64) -> CalendarStore.Head? {
        remembered(user: user)?.head
    }

    /// The calendar row of `user` with the descriptions kept for it, in one look.
    func remembered(user: Int64) -> RememberedHead? {
        state.withLock { $0.live ? $0.heads[user] : nil }
    }

    func user(token: String) -> Int64? {
        state.withLock { $0.live ? $0.tokens[token] : nil }
    }

    func remember(head: CalendarStore.Head, since epoch: UInt64) {
        state.withLock { state in
            guard state.live, state.epoch == epoch else { return }
            state.dropHead(user: head.userID)
            if state.heads.count + state.descriptions >= capacity { state.dropAllHeads() }
            state.heads[head.userID] = RememberedHead(head: head)
        }
    }

    func remember(token: String, user: Int64, since epoch: UInt64) {
        state.withLock { state in
            guard state.live, state.epoch == epoch else { return }
            if state.tokens.count >= capacity {
                state.tokens.removeAll()
                state.tokensByUser.removeAll()
            }
            if let previous = state.tokens.updateValue(user, forKey: token), previous != user {
                state.tokensByUser[previous]?.remove(token)
            }
            state.tokensByUser[user, default: []].insert(token)
        }
    }

    /// Applies a notification on `Channels.calendars`: a projection write (`user:version:generation`)
    /// forgets that user's calendar row and keeps its tokens (a change does not touch them: the
    /// first poll after it would otherwise look its token up again); a token rotation
    /// (`user:rotated`), or anything else naming a user, forgets both; a barrier is passed.
    func heard(_ payload: String) {
        if payload.hasPrefix(Self.barrierPrefix) {
            pass(barrier: payload)
            return
        }
        let fields = payload.split(separator: ":", omittingEmptySubsequences: false)
        guard let user = fields.first.flatMap({ Int64($0) }) else { return }
        if fields.count == 3, Int64(fields[1]) != nil, Int(fields[2]) != nil {
            forgetHead(user: user)
        } else {
            invalidate(user: user)
        }
    }

    /// A calendar row as remembered, with the answers described for it so far.
    struct RememberedHead: Sendable {
        var head: CalendarStore.Head
        /// At most one per variant and representation.
        var described: [FeedDescription] = []

        func description(variant: FeedVariant, encoding: FeedEncoding) -> FeedDescription? {
            described.first { $0.variant == variant && $0.encoding == encoding }
        }
    }

    /// The description of `head`'s feed in `variant` and `encoding` made earlier, while `head` is
    /// still the remembered row of its user: a poll answered 304 then builds no tag or headers.
    func description(of head: CalendarStore.Head, variant: FeedVariant, encoding: FeedEncoding) -> FeedDescription? {
        state.withLock { state in
            guard state.live, let remembered = state.heads[head.userID], remembered.head == head else { return nil }
            return remembered.description(variant: variant, encoding: encoding)
        }
    }

    /// Keeps `description` with its row, if that row is still the one remembered.
    func remember(_ description: FeedDescription) {
        state.withLock { state in
            guard state.live, state.heads.count + state.descriptions < capacity,
                var remembered = state.heads[description.head.userID], remembered.head == description.head,
                remembered.description(variant: description.variant, encoding: description.encoding) == nil
            else { return }
            remembered.described.append(description)
            state.heads[description.head.userID] = remembered
            state.descriptions += 1
        }
    }

    /// Rows and descriptions held (at most `capacity`; a test checks it).
    var rowsAndDescriptions: Int { state.withLock { $0.heads.count + $0.descriptions } }

    /// Forgets the calendar row of `user` (its tokens stay).
    func forgetHead(user: Int64) {
        state.withLock { state in
            state.epoch &+= 1
            state.dropHead(user: user)
        }
    }

    /// Forgets the calendar row and the tokens of `user`.
    func invalidate(user: Int64) {
        state.withLock { state in
            state.epoch &+= 1
            state.dropHead(user: user)
            guard let owned = state.tokensByUser.removeValue(forKey: user) else { return }
            state.tokensVisited += owned.count
            for token in owned { state.tokens[token] = nil }
        }
    }

    /// Remembered tokens looked at by all invalidations so far.
    var tokensVisitedByInvalidations: Int { state.withLock { $0.tokensVisited } }

    func setLive(_ live: Bool) {
        state.withLock { state in
            state.live = live
            state.epoch &+= 1
            state.dropAllHeads()
            state.tokens.removeAll()
            state.tokensByUser.removeAll()
        }
    }
}

/// LISTENs to calendar changes and token rotations and makes `FeedLookups` forget them; while
/// the LISTEN is down (or found dead by its keepalive) nothing in memory is trusted.
struct FeedChangeListener: Service {
    let store: EventStore
    let lookups: FeedLookups

    func run() async throws {
        let lookups = self.lookups
        await cancelWhenGracefulShutdown {
            await store.listen(
                on: Channels.calendars,
                onListening: { lookups.setLive(true) },
                onLost: { lookups.setLive(false) },
                onNotification: { payload in lookups.heard(payload) }
            )
        }
    }
}
