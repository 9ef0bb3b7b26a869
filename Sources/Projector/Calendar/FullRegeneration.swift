public import Domain

/// Regenerates a calendar from its events alone: fold everything, render everything.
/// This is what TaskOverflow did on every request, and the oracle incremental output must equal.
public enum FullRegeneration {
    /// Every entry of the calendar after `events` (no tombstones).
    public static func entries(_ state: UserCalendar) -> [CalendarEntry] {
        let renderer = FragmentRenderer(timeZoneIdentifier: state.timeZone)
        return state.todos.values.sorted { $0.id < $1.id }.map { renderer.render($0, changedVersion: state.version) }
    }

    /// The feed `variant` of the state.
    public static func feed(_ state: UserCalendar, variant: FeedVariant) -> [UInt8] {
        FeedAssembler.assemble(name: state.name, entries: entries(state), variant: variant)
    }

    /// Folds events (in version order) and renders the feed.
    public static func feed(events: some Sequence<TodoEvent>, variant: FeedVariant) -> [UInt8] {
        var state = UserCalendar()
        var version: Int64 = 0
        for event in events {
            version += 1
            state.apply(event, version: version)
        }
        return feed(state, variant: variant)
    }
}
