public import Domain
import Foundation

/// Turns a list of integers (what the property generator shrinks) into a realistic command
/// sequence, decided through the real `TodoCommands`, and returns the events in stream order.
public enum CommandScript {
    public static let titles = [
        "Buy milk", "Call Ann, Bob; and Carl", "Line one\nline two", "Back\\slash", "Party 🎉🎂", "会议记录：季度计划",
        "Ünïcödé façade", String(repeating: "long title with words ", count: 8), "semi;colon,comma\\back",
        "emoji 👩‍👩‍👧‍👦 family",
    ]
    public static let deadlines: [String?] = [
        nil, "2026-03-01", "2026-03-01T00:00:00", "2026-07-15T09:30:00", "2026-10-25T02:30:00", "2026-12-31 23:59:59",
        "2026-05-05T12:00:00Z", "2026-05-05T12:00:00+05:30", "2027-01-01T00:00:00-08:00",
    ]
    public static let zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe"]

    public static func events(_ codes: [Int]) -> [TodoEvent] {
        var state = UserCalendar()
        var events: [TodoEvent] = []
        var clock: Int64 = 1_770_000_000_000_000
        func emit(_ new: [TodoEvent]) {
            for event in new {
                events.append(event)
                state.apply(event, version: Int64(events.count))
            }
        }
        emit([.userRegistered(UserRegistered(name: "prop, test", timeZone: "UTC", at: Timestamp(microseconds: clock)))])
        for code in codes {
            clock += 1_000_000 + Int64(code % 997)
            let at = Timestamp(microseconds: clock)
            let ids = state.todos.keys.sorted()
            let pick = ids.isEmpty ? nil : ids[(code / 11) % ids.count]
            switch code % 11 {
            case 0, 1, 2:
                let deadline = deadlines[(code / 7) % deadlines.count].map { try! Deadline(parsing: $0) }
                let todo = try! NewTodo(
                    title: titles[(code / 3) % titles.count],
                    description: code % 4 == 0 ? titles[(code / 5) % titles.count] : "",
                    completed: code % 13 == 0,
                    deadline: deadline
                )
                emit(TodoCommands.create(todo, id: state.lastTodoID + 1, uid: "uid-\(state.lastTodoID + 1)", at: at))
            case 3:
                guard let id = pick, let todo = state.todos[id] else { continue }
                emit(TodoCommands.update(todo, with: try! TodoPatch(title: titles[(code / 13) % titles.count]), at: at))
            case 4:
                guard let id = pick, let todo = state.todos[id] else { continue }
                let deadline = deadlines[(code / 13) % deadlines.count].map { try! Deadline(parsing: $0) }
                emit(
                    TodoCommands.update(
                        todo,
                        with: try! TodoPatch(description: "d\(code)", deadline: .some(deadline)),
                        at: at
                    )
                )
            case 5, 6:
                guard let id = pick, let todo = state.todos[id] else { continue }
                emit(TodoCommands.update(todo, with: try! TodoPatch(completed: !todo.completed), at: at))
            case 7:
                let chosen = ids.enumerated().filter { ($0.offset + code) % 3 == 0 }.map(\.element) + [9_999]
                if let event = TodoCommands.complete(ids: chosen, existing: state.todos, at: at).event { emit([event]) }
            case 8:
                emit(TodoCommands.delete(pick.flatMap { state.todos[$0] }, at: at))
            case 9:
                let zone = zones[(code / 11) % zones.count]
                if zone != state.timeZone { emit([.timeZoneChanged(TimeZoneChanged(timeZone: zone, at: at))]) }
            default:
                guard let id = pick, let todo = state.todos[id] else { continue }
                emit(TodoCommands.update(todo, with: try! TodoPatch(title: todo.title + " ✓", completed: true), at: at))
            }
        }
        return events
    }

    public static func numbered(_ events: [TodoEvent]) -> [(version: Int64, event: TodoEvent)] {
        events.enumerated().map { (Int64($0.offset + 1), $0.element) }
    }
}

/// A small deterministic generator for delivery orders.
public struct SplitMix: RandomNumberGenerator {
    public var state: UInt64
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
