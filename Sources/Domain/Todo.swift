/// The current state of one todo, as folded from its events.
public struct Todo: Sendable, Hashable, Codable {
    /// Per-user id; the first todo of a user is 1. Never reused.
    public var id: Int
    /// Globally unique id fixed at creation; the calendar UID derives from it.
    public var uid: String
    public var title: String
    public var description: String
    public var completed: Bool
    /// When the todo was last completed; nil while open.
    public var completedAt: Timestamp?
    public var deadline: Deadline?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// Number of changes since creation (the iCalendar SEQUENCE).
    public var revision: Int

    public init(created event: TodoCreated) {
        id = event.todoID
        uid = event.uid
        title = event.title
        description = event.description
        completed = event.completed
        completedAt = event.completed ? event.at : nil
        deadline = event.deadline
        createdAt = event.at
        updatedAt = event.at
        revision = 0
    }

    /// Applies one event about this todo. Events about other todos or the user are ignored.
    ///
    /// A bulk completion is matched by searching its id list, O(k): code that walks
    /// `event.todoIDs` itself should call `apply(targeted:)` instead.
    public mutating func apply(_ event: TodoEvent) {
        guard event.todoIDs.contains(id) else { return }
        apply(targeted: event)
    }

    /// Applies an event the caller has already matched to this todo (its id is one of
    /// `event.todoIDs`), in O(1) even for a bulk completion of thousands of todos.
    public mutating func apply(targeted event: TodoEvent) {
        switch event {
        case .todoUpdated(let update):
            if let title = update.title { self.title = title }
            if let description = update.description { self.description = description }
            if let deadline = update.deadline { self.deadline = deadline }
        case .todoCompleted(let change):
            completed = true
            completedAt = change.at
        case .todoReopened:
            completed = false
            completedAt = nil
        case .todosCompleted(let bulk):
            completed = true
            completedAt = bulk.at
        case .userRegistered, .timeZoneChanged, .todoCreated, .todoDeleted:
            return
        }
        updatedAt = event.at
        revision += 1
    }
}
