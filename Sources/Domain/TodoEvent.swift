/// Every event of a user's stream. Payloads are versioned JSON (`type` + `v`), see `EventCoding`.
public enum TodoEvent: Sendable, Hashable {
    case userRegistered(UserRegistered)
    case timeZoneChanged(TimeZoneChanged)
    case todoCreated(TodoCreated)
    case todoUpdated(TodoUpdated)
    case todoCompleted(TodoChange)
    case todoReopened(TodoChange)
    case todoDeleted(TodoChange)
    case todosCompleted(TodosCompleted)

    /// The stored type name.
    public var type: String {
        switch self {
        case .userRegistered: "UserRegistered"
        case .timeZoneChanged: "TimeZoneChanged"
        case .todoCreated: "TodoCreated"
        case .todoUpdated: "TodoUpdated"
        case .todoCompleted: "TodoCompleted"
        case .todoReopened: "TodoReopened"
        case .todoDeleted: "TodoDeleted"
        case .todosCompleted: "TodosCompleted"
        }
    }

    /// When the command that produced the event was accepted.
    public var at: Timestamp {
        switch self {
        case .userRegistered(let e): e.at
        case .timeZoneChanged(let e): e.at
        case .todoCreated(let e): e.at
        case .todoUpdated(let e): e.at
        case .todoCompleted(let e), .todoReopened(let e), .todoDeleted(let e): e.at
        case .todosCompleted(let e): e.at
        }
    }

    /// The todos the event changes; empty for user-level events.
    public var todoIDs: [Int] {
        switch self {
        case .userRegistered, .timeZoneChanged: []
        case .todoCreated(let e): [e.todoID]
        case .todoUpdated(let e): [e.todoID]
        case .todoCompleted(let e), .todoReopened(let e), .todoDeleted(let e): [e.todoID]
        case .todosCompleted(let e): e.todoIDs
        }
    }
}

/// The first event of every user stream.
public struct UserRegistered: Sendable, Hashable, Codable {
    public var name: String
    public var timeZone: String
    public var at: Timestamp

    public init(name: String, timeZone: String, at: Timestamp) {
        self.name = name
        self.timeZone = timeZone
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case name, at
        case timeZone = "time_zone"
    }
}

/// The user's IANA time zone changed; naive deadlines are re-interpreted.
public struct TimeZoneChanged: Sendable, Hashable, Codable {
    public var timeZone: String
    public var at: Timestamp

    public init(timeZone: String, at: Timestamp) {
        self.timeZone = timeZone
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case at
        case timeZone = "time_zone"
    }
}

public struct TodoCreated: Sendable, Hashable, Codable {
    public var todoID: Int
    public var uid: String
    public var title: String
    public var description: String
    public var completed: Bool
    public var deadline: Deadline?
    public var at: Timestamp

    public init(
        todoID: Int,
        uid: String,
        title: String,
        description: String,
        completed: Bool,
        deadline: Deadline?,
        at: Timestamp
    ) {
        self.todoID = todoID
        self.uid = uid
        self.title = title
        self.description = description
        self.completed = completed
        self.deadline = deadline
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case uid, title, description, completed, at
        case todoID = "todo_id"
        case deadline = "deadline_at"
    }
}

/// Changed fields only: nil means unchanged; `deadline == .some(nil)` clears the deadline.
public struct TodoUpdated: Sendable, Hashable, Codable {
    public var todoID: Int
    public var title: String?
    public var description: String?
    public var deadline: Deadline??
    public var at: Timestamp

    public init(
        todoID: Int,
        title: String? = nil,
        description: String? = nil,
        deadline: Deadline?? = nil,
        at: Timestamp
    ) {
        self.todoID = todoID
        self.title = title
        self.description = description
        self.deadline = deadline
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case title, description, at
        case todoID = "todo_id"
        case deadline = "deadline_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        todoID = try container.decode(Int.self, forKey: .todoID)
        title = try container.decodeIfPresent(String.self, forKey: .title)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        at = try container.decode(Timestamp.self, forKey: .at)
        if container.contains(.deadline) {
            deadline = .some(try container.decodeIfPresent(Deadline.self, forKey: .deadline))
        } else {
            deadline = nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(todoID, forKey: .todoID)
        try container.encodeIfPresent(title, forKey: .title)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encode(at, forKey: .at)
        if let deadline {
            try container.encode(deadline, forKey: .deadline)
        }
    }

    /// Whether the update changes nothing.
    public var isEmpty: Bool { title == nil && description == nil && deadline == nil }
}

/// Completion, reopening or deletion of one todo.
public struct TodoChange: Sendable, Hashable, Codable {
    public var todoID: Int
    public var at: Timestamp

    public init(todoID: Int, at: Timestamp) {
        self.todoID = todoID
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case at
        case todoID = "todo_id"
    }
}

/// A bulk completion of many todos in one event.
public struct TodosCompleted: Sendable, Hashable, Codable {
    public var todoIDs: [Int]
    public var at: Timestamp

    public init(todoIDs: [Int], at: Timestamp) {
        self.todoIDs = todoIDs
        self.at = at
    }

    enum CodingKeys: String, CodingKey {
        case at
        case todoIDs = "todo_ids"
    }
}
