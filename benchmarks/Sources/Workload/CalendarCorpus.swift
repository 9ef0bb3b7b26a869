public import Domain

/// A synthetic calendar of one user: realistic titles and descriptions (commas, newlines,
/// non-ASCII), deadlines of every accepted shape spread over a year, a few todos done already.
/// The same size and seed always give the same calendar.
public struct CalendarCorpus: Sendable {
    public let size: Int
    public let registration: UserRegistered
    public let todos: [TodoCreated]

    /// The first instant of the calendar's year (2026-01-01T00:00:00Z).
    public static let yearStart = Timestamp(secondsSinceEpoch: 1_767_225_600)

    public init(size: Int, seed: UInt64 = 0xA1_3A_4A_C0) {
        var random = SplitMix64(seed: seed ^ UInt64(size))
        self.size = size
        registration = UserRegistered(name: "Bench \(size)", timeZone: "Europe/Berlin", at: Self.yearStart)
        var todos: [TodoCreated] = []
        todos.reserveCapacity(size)
        for index in 0..<size {
            let text = Self.text(&random)
            todos.append(
                TodoCreated(
                    todoID: index + 1,
                    uid: Self.uid(index: index, random: &random),
                    title: text.title,
                    description: text.description,
                    completed: random.next() % 20 == 0,
                    deadline: Self.deadline(&random),
                    at: Timestamp(microseconds: Self.yearStart.microseconds + Int64(index) * 1_000_003)
                )
            )
        }
        self.todos = todos
    }

    /// The stream: the registration (version 1), then one creation per todo.
    public var events: [(version: Int64, event: TodoEvent)] {
        [(1, .userRegistered(registration))]
            + todos.enumerated().map { (Int64($0.offset + 2), .todoCreated($0.element)) }
    }

    /// `count` todo ids spread evenly over the calendar (a bulk completion touches old and new todos alike).
    public func spreadIDs(count: Int, from pool: [Int]? = nil) -> [Int] {
        let ids = pool ?? Array(1...size)
        guard count < ids.count else { return ids }
        let stride = Double(ids.count) / Double(count)
        return (0..<count).map { ids[Int(Double($0) * stride)] }
    }

    /// A new realistic title, description and deadline text, as a client would send them.
    public static func newTodo(_ random: inout SplitMix64) -> (title: String, description: String, deadline: String?) {
        let text = text(&random)
        return (text.title, text.description, deadline(&random)?.raw)
    }

    static func text(_ random: inout SplitMix64) -> (title: String, description: String) {
        let title =
            Phrases.verbs.randomElement(using: &random)! + " " + Phrases.objects.randomElement(using: &random)!
            + Phrases.contexts.randomElement(using: &random)!
        // Descriptions from empty to a few hundred octets, as typed notes are.
        let sentences = Int(random.next() % 5)
        let description = (0..<sentences).map { _ in Phrases.sentences.randomElement(using: &random)! }
            .joined(separator: random.next() % 3 == 0 ? "\n\n" : " ")
        return (title, description)
    }

    /// Deadlines over the year in every shape the API accepts; about one todo in eight has none.
    static func deadline(_ random: inout SplitMix64) -> Deadline? {
        let shape = random.next() % 8
        if shape == 0 { return nil }
        let day = CivilDate(daysSinceEpoch: 20_454 + Int(random.next() % 365))
        let date = "\(pad(day.year, 4))-\(pad(day.month, 2))-\(pad(day.day, 2))"
        let hour = pad(Int(random.next() % 24), 2)
        let minute = pad(Int(random.next() % 4) * 15, 2)
        let raw: String =
            switch shape {
            case 1, 2: date
            case 3, 4: "\(date)T\(hour):\(minute)"
            case 5: "\(date)T\(hour):\(minute):00Z"
            case 6: "\(date)T\(hour):\(minute):00+02:00"
            default: "\(date)T00:00:00"
            }
        return try! Deadline(parsing: raw)
    }

    static func uid(index: Int, random: inout SplitMix64) -> String {
        let a = random.next()
        let b = random.next()
        func hex(_ value: UInt64, _ digits: Int) -> String {
            let text = String(value, radix: 16)
            return String(repeating: "0", count: max(0, digits - text.count)) + text.suffix(digits)
        }
        return "\(hex(a >> 32, 8))-\(hex(a >> 16 & 0xFFFF, 4))-4\(hex(a & 0xFFF, 3))-"
            + "\(hex(0x8000 | b >> 48 & 0x3FFF, 4))-\(hex(b & 0xFFFF_FFFF_FFFF, 12))"
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
