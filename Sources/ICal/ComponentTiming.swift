/// When a todo falls due in the calendar.
public enum ComponentTiming: Sendable, Hashable {
    /// A whole-day entry; `endExclusive` is the day after the last day (DTEND of a VEVENT).
    case allDay(ICalDate, endExclusive: ICalDate)
    /// A moment in UTC.
    case at(ICalDateTime)
}
