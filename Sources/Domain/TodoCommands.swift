/// A todo to create, with every value already validated.
public struct NewTodo: Sendable, Hashable {
    public var title: String
    public var description: String
    public var completed: Bool
    public var deadline: Deadline?

    public init(title: String, description: String = "", completed: Bool = false, deadline: Deadline? = nil)
        throws(ValidationError)
    {
        self.title = try Validate.title(title)
        self.description = try Validate.description(description)
        self.completed = completed
        self.deadline = deadline
    }
}

/// A partial update: nil leaves a field as it is; `deadline == .some(nil)` clears it.
public struct TodoPatch: Sendable, Hashable {
    public var title: String?
    public var description: String?
    public var completed: Bool?
    public var deadline: Deadline??

    public init(title: String? = nil, description: String? = nil, completed: Bool? = nil, deadline: Deadline?? = nil)
        throws(ValidationError)
    {
        self.title = try title.map { (t: String) throws(ValidationError) in try Validate.title(t) }
        self.description = try description.map { (d: String) throws(ValidationError) in try Validate.description(d) }
        self.completed = completed
        self.deadline = deadline
    }
}

/// The outcome of a bulk completion: which ids changed and which did not.
public struct BulkCompletion: Sendable, Hashable {
    public var event: TodoEvent?
    public var completed: [Int]
    public var alreadyCompleted: [Int]
    public var notFound: [Int]
}

/// Decisions: from a command and the current state of what it touches, the events to append.
/// Pure; a command that changes nothing yields no event.
public enum TodoCommands {
    public static func create(_ todo: NewTodo, id: Int, uid: String, at: Timestamp) -> [TodoEvent] {
        [
            .todoCreated(
                TodoCreated(
                    todoID: id,
                    uid: uid,
                    title: todo.title,
                    description: todo.description,
                    completed: todo.completed,
                    deadline: todo.deadline,
                    at: at
                )
            )
        ]
    }

    public static func update(_ todo: Todo, with patch: TodoPatch, at: Timestamp) -> [TodoEvent] {
        var update = TodoUpdated(todoID: todo.id, at: at)
        if let title = patch.title, title != todo.title { update.title = title }
        if let description = patch.description, description != todo.description { update.description = description }
        if let deadline = patch.deadline, deadline?.raw != todo.deadline?.raw { update.deadline = .some(deadline) }
        var events: [TodoEvent] = update.isEmpty ? [] : [.todoUpdated(update)]
        switch (patch.completed, todo.completed) {
        case (true, false): events.append(.todoCompleted(TodoChange(todoID: todo.id, at: at)))
        case (false, true): events.append(.todoReopened(TodoChange(todoID: todo.id, at: at)))
        default: break
        }
        return events
    }

    public static func delete(_ todo: Todo?, at: Timestamp) -> [TodoEvent] {
        guard let todo else { return [] }
        return [.todoDeleted(TodoChange(todoID: todo.id, at: at))]
    }

    /// Completes every open todo among `ids` in one event; duplicates in `ids` count once.
    public static func complete(ids: [Int], existing: [Int: Todo], at: Timestamp) -> BulkCompletion {
        var seen = Set<Int>()
        var result = BulkCompletion(event: nil, completed: [], alreadyCompleted: [], notFound: [])
        for id in ids where seen.insert(id).inserted {
            switch existing[id]?.completed {
            case .none: result.notFound.append(id)
            case .some(true): result.alreadyCompleted.append(id)
            case .some(false): result.completed.append(id)
            }
        }
        if !result.completed.isEmpty {
            result.event = .todosCompleted(TodosCompleted(todoIDs: result.completed, at: at))
        }
        return result
    }
}

/// Value rules shared by every command.
public enum Validate {
    public static func title(_ title: String) throws(ValidationError) -> String {
        guard !title.allSatisfy(\.isWhitespace) else { throw ValidationError("title must not be empty") }
        try text(title, field: "title", characters: Limits.titleCharacters, bytes: Limits.titleBytes)
        return title
    }

    public static func description(_ description: String) throws(ValidationError) -> String {
        try text(
            description,
            field: "description",
            characters: Limits.descriptionCharacters,
            bytes: Limits.descriptionBytes
        )
        return description
    }

    /// Length limits count both what a person sees (characters) and what is stored (UTF-8
    /// bytes): one character followed by thousands of combining marks is one character but
    /// megabytes. U+0000 cannot be stored (PostgreSQL text and jsonb refuse it).
    static func text(_ value: String, field: String, characters: Int, bytes: Int) throws(ValidationError) {
        guard value.utf8.count <= bytes else {
            throw ValidationError("\(field) must be at most \(bytes) bytes of UTF-8")
        }
        guard value.count <= characters else {
            throw ValidationError("\(field) must be at most \(characters) characters")
        }
        guard !value.utf8.contains(0) else {
            throw ValidationError("\(field) must not contain the NUL character (U+0000)")
        }
    }

    public static func userName(_ name: String) throws(ValidationError) -> String {
        guard !name.allSatisfy(\.isWhitespace) else { throw ValidationError("name must not be empty") }
        guard name.utf8.count <= 4 * Limits.userNameCharacters, name.count <= Limits.userNameCharacters else {
            throw ValidationError("name must be at most \(Limits.userNameCharacters) characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("name must not contain control characters")
        }
        return name
    }
}
