public import Domain
import ICal

/// Regenerates a calendar from its events alone: fold everything, render everything.
/// This is what TaskOverflow did on every request, and the oracle incremental output must equal.
public enum FullRegeneration {
    /// Every entry of the calendar after `events` (no tombstones).
    public static func entries(_ state: UserCalendar) -> [CalendarEntry] {
        let renderer = FragmentRenderer(timeZoneIdentifier: state.timeZone)
        return state.todos.values.sorted { $0.id < $1.id }.map { renderer.render($0, changedVersion: state.version) }
    }

    /// The feed `variant` of the state, written straight into one buffer: only the components
    /// the variant shows are rendered, and no per-todo entries are kept.
    public static func feed(_ state: UserCalendar, variant: FeedVariant) -> [UInt8] {
        let renderer = FragmentRenderer(timeZoneIdentifier: state.timeZone)
        var out = FeedAssembler.header(name: state.name)
        // Components average about 450 octets; one growth at most for wordy calendars.
        out.reserveLargeCapacity(out.count + state.todos.count * 512)
        for index in idOrder(state.todos) {
            let todo = state.todos.values[index]
            switch variant {
            case .events where todo.completed:
                continue
            case .events, .eventsWithCompleted:
                guard todo.deadline != nil else { continue }
                ComponentRenderer.writeEvent(renderer.fields(todo), into: &out)
            case .tasks:
                ComponentRenderer.writeTodo(renderer.fields(todo), into: &out)
            }
        }
        out.append(contentsOf: CalendarFooter.bytes)
        return out
    }

    /// The dictionary's positions in ascending id order, found without hashing an id again: a
    /// calendar's ids are mostly dense (1 ... last todo id, less the deleted), so they are placed
    /// by id in one pass; sparse ids are sorted instead.
    static func idOrder<Value>(_ todos: [Int: Value]) -> [Dictionary<Int, Value>.Index] {
        var lowest = Int.max
        var highest = Int.min
        for id in todos.keys {
            lowest = min(lowest, id)
            highest = max(highest, id)
        }
        guard !todos.isEmpty else { return [] }
        let (span, overflow) = highest.subtractingReportingOverflow(lowest)
        if !overflow && span < 4 * todos.count + 1024 {
            var slots = [Dictionary<Int, Value>.Index?](repeating: nil, count: span + 1)
            for index in todos.indices { slots[todos.keys[index] - lowest] = index }
            return slots.compactMap { $0 }
        }
        var pairs = todos.indices.map { (id: todos.keys[$0], index: $0) }
        pairs.sort { $0.id < $1.id }
        return pairs.map(\.index)
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
