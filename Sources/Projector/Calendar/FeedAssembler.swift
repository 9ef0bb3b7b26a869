import Domain
public import ICal

/// A feed is the header, the fragments in todo-id order, and the footer: nothing else, so the
/// same projection state always gives the same bytes.
public enum FeedAssembler {
    /// How often calendar apps should poll (REFRESH-INTERVAL and X-PUBLISHED-TTL).
    public static let refreshInterval = ICalDuration(seconds: 15 * 60)

    public static func header(name: String) -> [UInt8] {
        CalendarHeader(name: name.isEmpty ? "Almanac" : "Almanac: \(name)", refreshInterval: refreshInterval).render()
    }

    /// Assembles a feed from fragments already in todo-id order, in one buffer of the right size.
    public static func assemble<Fragments: Collection>(name: String, fragments: Fragments) -> [UInt8]
    where Fragments.Element == [UInt8] {
        var bytes = header(name: name)
        bytes.reserveLargeCapacity(bytes.count + fragments.reduce(0) { $0 + $1.count } + CalendarFooter.bytes.count)
        for fragment in fragments { bytes.append(contentsOf: fragment) }
        bytes.append(contentsOf: CalendarFooter.bytes)
        return bytes
    }

    /// The feed `variant` of a set of entries.
    public static func assemble(name: String, entries: [CalendarEntry], variant: FeedVariant) -> [UInt8] {
        let ordered = entries.filter { !$0.deleted }.sorted { $0.todoID < $1.todoID }
        return assemble(
            name: name,
            fragments: ordered.compactMap {
                variant.fragment(event: $0.event, task: $0.task, completed: $0.todo.completed)
            }
        )
    }
}
