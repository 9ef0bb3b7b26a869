/// The whole state of one user's stream: the fold of all its events.
///
/// The todo list and calendar projections keep only parts of this; a full rebuild folds it.
public struct UserCalendar: Sendable, Hashable {
    public var name: String = ""
    public var timeZone: String = "UTC"
    public var todos: [Int: Todo] = [:]
    public var lastTodoID: Int = 0
    /// The stream version of the last event applied.
    public var version: Int64 = 0

    public init() {}

    /// Applies the event with the given stream version.
    public mutating func apply(_ event: TodoEvent, version: Int64) {
        self.version = version
        switch event {
        case .userRegistered(let e):
            name = e.name
            timeZone = e.timeZone
        case .timeZoneChanged(let e):
            timeZone = e.timeZone
        case .todoCreated(let e):
            todos[e.todoID] = Todo(created: e)
            lastTodoID = max(lastTodoID, e.todoID)
        case .todoDeleted(let e):
            todos[e.todoID] = nil
        case .todoUpdated, .todoCompleted, .todoReopened, .todosCompleted:
            for id in event.todoIDs {
                todos[id]?.apply(targeted: event)
            }
        }
    }
}
