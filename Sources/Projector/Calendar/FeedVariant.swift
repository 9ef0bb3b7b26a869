/// The three feeds of one calendar.
public enum FeedVariant: String, Sendable, Hashable, CaseIterable {
    /// VEVENTs of open todos with a deadline (the default).
    case events
    /// VEVENTs of every todo with a deadline, completed ones marked done (`?completed=include`).
    case eventsWithCompleted = "events-with-completed"
    /// One VTODO per todo, open or done (`?format=vtodo`).
    case tasks = "vtodo"

    /// The fragment of an entry in this feed, if it appears in it: the one rule every feed reader
    /// (cache, streamer, regeneration) applies.
    @inlinable
    public func fragment<Bytes>(event: Bytes?, task: Bytes?, completed: Bool) -> Bytes? {
        switch self {
        case .events: completed ? nil : event
        case .eventsWithCompleted: event
        case .tasks: task
        }
    }
}
