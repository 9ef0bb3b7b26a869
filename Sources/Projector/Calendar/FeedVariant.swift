/// The three feeds of one calendar.
public enum FeedVariant: String, Sendable, Hashable, CaseIterable {
    /// VEVENTs of open todos with a deadline (the default).
    case events
    /// VEVENTs of every todo with a deadline, completed ones marked done (`?completed=include`).
    case eventsWithCompleted = "events-with-completed"
    /// One VTODO per todo, open or done (`?format=vtodo`).
    case tasks = "vtodo"

    /// The fragment of `entry` in this feed, if it appears in it.
    @inlinable
    public func fragment(event: [UInt8]?, task: [UInt8]?, completed: Bool) -> [UInt8]? {
        switch self {
        case .events: completed ? nil : event
        case .eventsWithCompleted: event
        case .tasks: task
        }
    }
}
