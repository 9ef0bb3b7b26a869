import Testing

@testable import Domain

@Suite("Events and commands")
struct EventCodingTests {
    static let at = Timestamp(microseconds: 1_700_000_000_000_000)

    static let samples: [TodoEvent] = [
        .userRegistered(UserRegistered(name: "ann", timeZone: "Europe/Paris", at: at)),
        .timeZoneChanged(TimeZoneChanged(timeZone: "Asia/Tokyo", at: at)),
        .todoCreated(
            TodoCreated(
                todoID: 1,
                uid: "u-1",
                title: "a, b; c\n😀",
                description: "d",
                completed: false,
                deadline: try! Deadline(parsing: "2023-02-27"),
                at: at
            )
        ),
        .todoUpdated(TodoUpdated(todoID: 1, title: "t", at: at)),
        .todoUpdated(TodoUpdated(todoID: 1, deadline: .some(nil), at: at)),
        .todoCompleted(TodoChange(todoID: 1, at: at)),
        .todoReopened(TodoChange(todoID: 1, at: at)),
        .todoDeleted(TodoChange(todoID: 1, at: at)),
        .todosCompleted(TodosCompleted(todoIDs: [1, 2, 3], at: at)),
    ]

    @Test(arguments: samples)
    func roundTripsThroughJSON(event: TodoEvent) throws {
        let data = EventCoding.encode(event)
        #expect(String(decoding: data, as: UTF8.self).contains(#""v":1"#))
        #expect(try EventCoding.decode(type: event.type, data: data) == event)
    }

    @Test func clearedDeadlineIsDistinctFromUnchanged() throws {
        let cleared = EventCoding.encode(.todoUpdated(TodoUpdated(todoID: 1, deadline: .some(nil), at: Self.at)))
        #expect(String(decoding: cleared, as: UTF8.self).contains(#""deadline_at":null"#))
        let unchanged = EventCoding.encode(.todoUpdated(TodoUpdated(todoID: 1, title: "x", at: Self.at)))
        #expect(!String(decoding: unchanged, as: UTF8.self).contains("deadline_at"))
    }

    @Test func oldPayloadsWithoutVersionStillDecode() throws {
        let legacy = Array(#"{"todo_id": 4, "at": 5}"#.utf8)
        #expect(
            try EventCoding.decode(type: "TodoDeleted", data: legacy)
                == .todoDeleted(TodoChange(todoID: 4, at: Timestamp(microseconds: 5)))
        )
    }

    @Test func newerSchemaVersionsAndUnknownTypesAreErrors() {
        #expect(throws: EventCoding.UnsupportedVersion.self) {
            try EventCoding.decode(type: "TodoDeleted", data: Array(#"{"todo_id": 4, "at": 5, "v": 9}"#.utf8))
        }
        #expect(throws: EventCoding.UnknownEvent.self) { try EventCoding.decode(type: "Nope", data: Array("{}".utf8)) }
    }

    @Test func updateEmitsOnlyChangedFieldsAndCompletionEvents() throws {
        let created = TodoCreated(
            todoID: 1,
            uid: "u",
            title: "t",
            description: "",
            completed: false,
            deadline: nil,
            at: Self.at
        )
        let todo = Todo(created: created)
        #expect(TodoCommands.update(todo, with: try TodoPatch(title: "t"), at: Self.at).isEmpty)
        let events = TodoCommands.update(todo, with: try TodoPatch(title: "u", completed: true), at: Self.at)
        #expect(events.map(\.type) == ["TodoUpdated", "TodoCompleted"])
        guard case .todoUpdated(let update) = events[0] else { Issue.record("expected an update"); return }
        #expect(update.title == "u" && update.description == nil && update.deadline == nil)
    }

    @Test func foldTracksRevisionAndCompletion() throws {
        var state = UserCalendar()
        state.apply(Self.samples[0], version: 1)
        state.apply(Self.samples[2], version: 2)
        state.apply(.todosCompleted(TodosCompleted(todoIDs: [1, 7], at: Timestamp(microseconds: 9))), version: 3)
        let todo = try #require(state.todos[1])
        #expect(todo.completed && todo.completedAt == Timestamp(microseconds: 9) && todo.revision == 1)
        #expect(state.name == "ann" && state.timeZone == "Europe/Paris" && state.version == 3 && state.lastTodoID == 1)
        state.apply(.todoDeleted(TodoChange(todoID: 1, at: Self.at)), version: 4)
        #expect(state.todos.isEmpty)
    }

    @Test func applyIgnoresEventsAboutOtherTodos() throws {
        guard case .todoCreated(let created) = Self.samples[2] else { throw CancellationError() }
        var todo = Todo(created: created)
        for event in [
            TodoEvent.todoUpdated(TodoUpdated(todoID: 2, title: "other", at: Self.at)),
            .todoCompleted(TodoChange(todoID: 2, at: Self.at)),
            .todosCompleted(TodosCompleted(todoIDs: [2, 3], at: Self.at)),
            .timeZoneChanged(TimeZoneChanged(timeZone: "UTC", at: Self.at)),
        ] {
            todo.apply(event)
        }
        #expect(todo.title == created.title && !todo.completed && todo.revision == 0)
        todo.apply(.todosCompleted(TodosCompleted(todoIDs: [3, 1], at: Timestamp(microseconds: 5))))
        #expect(todo.completed && todo.completedAt == Timestamp(microseconds: 5) && todo.revision == 1)
        todo.apply(targeted: .todoReopened(TodoChange(todoID: 1, at: Self.at)))
        #expect(!todo.completed && todo.completedAt == nil && todo.revision == 2)
    }

    @Test func bulkCompletionSortsIdsIntoOutcomes() throws {
        let open = Todo(
            created: TodoCreated(
                todoID: 1,
                uid: "a",
                title: "a",
                description: "",
                completed: false,
                deadline: nil,
                at: Self.at
            )
        )
        let done = Todo(
            created: TodoCreated(
                todoID: 2,
                uid: "b",
                title: "b",
                description: "",
                completed: true,
                deadline: nil,
                at: Self.at
            )
        )
        let outcome = TodoCommands.complete(ids: [1, 2, 3, 1], existing: [1: open, 2: done], at: Self.at)
        #expect(outcome.completed == [1] && outcome.alreadyCompleted == [2] && outcome.notFound == [3])
        #expect(outcome.event == .todosCompleted(TodosCompleted(todoIDs: [1], at: Self.at)))
        #expect(TodoCommands.complete(ids: [2], existing: [2: done], at: Self.at).event == nil)
    }
}
