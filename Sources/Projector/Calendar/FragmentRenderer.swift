public import Domain
public import Foundation
public import ICal

/// Renders one todo into its VEVENT and VTODO fragments, in the user's time zone.
public struct FragmentRenderer: Sendable {
    public let timeZone: TimeZone
    /// UTC needs no offset lookups (Foundation's are the slowest part of a render).
    let isUTC: Bool

    public init(timeZoneIdentifier: String) {
        timeZone = TimeZone(identifier: timeZoneIdentifier) ?? TimeZone(identifier: "UTC")!
        isUTC = timeZone.identifier == "UTC" || timeZone.identifier == "GMT"
    }

    public func render(_ todo: Todo, changedVersion: Int64) -> CalendarEntry {
        let fields = self.fields(todo)
        return CalendarEntry(
            todo: todo,
            deleted: false,
            event: ComponentRenderer.event(fields),
            task: ComponentRenderer.todo(fields),
            changedVersion: changedVersion
        )
    }

    public func fields(_ todo: Todo) -> TodoFields {
        TodoFields(
            uid: todo.uid,
            uidDomain: "almanac",
            summary: todo.title,
            description: todo.description,
            created: Self.dateTime(todo.createdAt),
            lastModified: Self.dateTime(todo.updatedAt),
            sequence: todo.revision,
            completedAt: todo.completedAt.map(Self.dateTime),
            due: todo.deadline.map(timing)
        )
    }

    /// A date-only or midnight deadline is all-day; others are instants in UTC.
    func timing(_ deadline: Deadline) -> ComponentTiming {
        if deadline.isAllDay {
            let next = deadline.date.adding(days: 1)
            return .allDay(
                ICalDate(year: deadline.date.year, month: deadline.date.month, day: deadline.date.day),
                endExclusive: ICalDate(year: next.year, month: next.month, day: next.day)
            )
        }
        if let instant = deadline.absoluteInstant {
            return .at(Self.dateTime(instant))
        }
        let local = Int64(deadline.date.daysSinceEpoch) * 86_400 + Int64(deadline.time?.secondsIntoDay ?? 0)
        return .at(Self.dateTime(Timestamp(secondsSinceEpoch: utc(fromLocal: local))))
    }

    /// Wall-clock seconds in `timeZone` to UTC seconds (the usual two-step guess around offsets).
    func utc(fromLocal local: Int64) -> Int64 {
        if isUTC { return local }
        let first = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local))))
        let second = Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local - first))))
        return local - second
    }

    static func dateTime(_ timestamp: Timestamp) -> ICalDateTime {
        let (date, time) = timestamp.utc
        return ICalDateTime(
            year: date.year,
            month: date.month,
            day: date.day,
            hour: time.hour,
            minute: time.minute,
            second: time.second
        )
    }
}
