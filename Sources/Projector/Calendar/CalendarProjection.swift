public import Domain

/// The calendar projection as a pure function: a batch of one user's events, applied to the
/// entries those events touch, gives the changed entries. Cost is O(events + touched todos),
/// independent of the calendar's size, except for a time-zone change, which re-renders all.
public enum CalendarProjection {
    /// What applying a batch changes.
    public struct Changes: Sendable {
        /// Upserts, keyed by todo id (tombstones for deletions).
        public var entries: [Int: CalendarEntry] = [:]
        public var settings: CalendarSettings
        /// The user's time zone changed: every entry must be re-rendered.
        public var timeZoneChanged = false
        /// The stream version reached.
        public var version: Int64

        public init(settings: CalendarSettings, version: Int64) {
            self.settings = settings
            self.version = version
        }
    }

    /// The todo ids whose current entries `apply` needs.
    public static func touchedTodoIDs(_ events: some Sequence<TodoEvent>) -> Set<Int> {
        var ids = Set<Int>()
        for event in events { ids.formUnion(event.todoIDs) }
        return ids
    }

    /// The calendar's settings after `event`; nil for an event that does not set them. A
    /// registration or a time-zone change may change the zone, which re-renders every entry.
    public static func settings(after event: TodoEvent, from settings: CalendarSettings) -> CalendarSettings? {
        switch event {
        case .userRegistered(let e):
            return CalendarSettings(name: e.name, timeZone: e.timeZone)
        case .timeZoneChanged(let e):
            var changed = settings
            changed.timeZone = e.timeZone
            return changed
        case .todoCreated, .todoDeleted, .todoUpdated, .todoCompleted, .todoReopened, .todosCompleted:
            return nil
        }
    }

    /// Applies events with versions `applied + 1 ...` in order; `current` holds the entries of
    /// the touched todos (missing ones are unknown todos).
    public static func apply(
        _ events: [(version: Int64, event: TodoEvent)],
        current: [Int: CalendarEntry],
        settings: CalendarSettings,
        appliedVersion: Int64
    ) -> Changes {
        var changes = Changes(settings: settings, version: appliedVersion)
        var todos: [Int: (todo: Todo, deleted: Bool)] = [:]
        for (id, entry) in current { todos[id] = (entry.todo, entry.deleted) }
        var touched: [Int: Int64] = [:]
        for (version, event) in events {
            changes.version = version
            if let settings = Self.settings(after: event, from: changes.settings) {
                changes.settings = settings
                changes.timeZoneChanged = true
                continue
            }
            switch event {
            case .userRegistered, .timeZoneChanged:
                break
            case .todoCreated(let e):
                todos[e.todoID] = (Todo(created: e), false)
                touched[e.todoID] = version
            case .todoDeleted(let e):
                if let existing = todos[e.todoID], !existing.deleted {
                    todos[e.todoID] = (existing.todo, true)
                    touched[e.todoID] = version
                }
            case .todoUpdated, .todoCompleted, .todoReopened, .todosCompleted:
                for id in event.todoIDs {
                    guard var entry = todos[id], !entry.deleted else { continue }
                    entry.todo.apply(targeted: event)
                    todos[id] = entry
                    touched[id] = version
                }
            }
        }
        let renderer = FragmentRenderer(timeZoneIdentifier: changes.settings.timeZone)
        for (id, version) in touched {
            guard let (todo, deleted) = todos[id] else { continue }
            changes.entries[id] =
                deleted
                ? CalendarEntry(todo: todo, deleted: true, event: nil, task: nil, changedVersion: version)
                : renderer.render(todo, changedVersion: version)
        }
        return changes
    }
}
