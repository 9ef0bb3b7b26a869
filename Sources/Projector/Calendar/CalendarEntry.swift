public import Domain

/// One todo in a calendar projection: its projected state and its rendered fragments.
public struct CalendarEntry: Sendable, Hashable {
    public var todo: Todo
    public var deleted: Bool
    /// The VEVENT fragment; nil without a deadline or when deleted.
    public var event: [UInt8]?
    /// The VTODO fragment; nil when deleted.
    public var task: [UInt8]?
    /// The stream version that last changed this entry (what a cache delta reads by).
    public var changedVersion: Int64

    public init(todo: Todo, deleted: Bool, event: [UInt8]?, task: [UInt8]?, changedVersion: Int64) {
        self.todo = todo
        self.deleted = deleted
        self.event = event
        self.task = task
        self.changedVersion = changedVersion
    }

    public var todoID: Int { todo.id }
}

/// What a calendar is called and how its naive deadlines are read.
public struct CalendarSettings: Sendable, Hashable {
    public var name: String
    public var timeZone: String

    public init(name: String = "", timeZone: String = "UTC") {
        self.name = name
        self.timeZone = timeZone
    }
}
