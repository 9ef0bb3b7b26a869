/// Renders one todo as a VEVENT or VTODO fragment (CRLF-terminated, folded, ready to concatenate into a feed).
public enum ComponentRenderer {
    /// VEVENT for the event feed; nil when the todo has no due date.
    ///
    /// A completed todo keeps its event, with "✓ " (U+2713 and a space) before its SUMMARY, because VEVENT has no
    /// completion status that calendar apps display. Events are TRANSPARENT so that todos never block free/busy time.
    public static func event(_ todo: TodoFields) -> [UInt8]? {
        guard todo.due != nil else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(estimatedSize(of: todo))
        writeEvent(todo, into: &out)
        return out
    }

    /// Appends the VEVENT of `todo` to `out` (a whole feed being written in one buffer); nothing when it has no due date.
    public static func writeEvent(_ todo: TodoFields, into out: inout [UInt8]) {
        guard let due = todo.due else { return }
        ContentLine.writeLiteral("BEGIN:VEVENT", into: &out)
        writeIdentityAndStamps(of: todo, into: &out)
        switch due {
        case .allDay(let date, let endExclusive):
            ContentLine.writeDate(name: "DTSTART", date, into: &out)
            // An all-day DTSTART without DTEND lasts one day (RFC 5545 3.6.1), the only valid reading of a bad end.
            if endExclusive > date {
                ContentLine.writeDate(name: "DTEND", endExclusive, into: &out)
            }
        case .at(let moment):
            ContentLine.writeDateTime(name: "DTSTART", moment, into: &out)
        }
        if todo.completedAt != nil {
            ContentLine.writeText(name: "SUMMARY", prefix: "✓ ", text: todo.summary, into: &out)
        } else {
            ContentLine.writeText(name: "SUMMARY", text: todo.summary, into: &out)
        }
        writeDescription(of: todo, into: &out)
        ContentLine.writeLiteral("TRANSP:TRANSPARENT", into: &out)
        ContentLine.writeLiteral("END:VEVENT", into: &out)
    }

    /// VTODO for the task feed (every todo, with or without due date).
    ///
    /// An all-day due date renders as `DUE;VALUE=DATE` of the day itself; its `endExclusive` only matters to VEVENT.
    public static func todo(_ todo: TodoFields) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(estimatedSize(of: todo))
        writeTodo(todo, into: &out)
        return out
    }

    /// Appends the VTODO of `todo` to `out`.
    public static func writeTodo(_ todo: TodoFields, into out: inout [UInt8]) {
        ContentLine.writeLiteral("BEGIN:VTODO", into: &out)
        writeIdentityAndStamps(of: todo, into: &out)
        switch todo.due {
        case .allDay(let date, _):
            ContentLine.writeDate(name: "DUE", date, into: &out)
        case .at(let moment):
            ContentLine.writeDateTime(name: "DUE", moment, into: &out)
        case nil:
            break
        }
        ContentLine.writeText(name: "SUMMARY", text: todo.summary, into: &out)
        writeDescription(of: todo, into: &out)
        if let completedAt = todo.completedAt {
            ContentLine.writeLiteral("STATUS:COMPLETED", into: &out)
            ContentLine.writeDateTime(name: "COMPLETED", completedAt, into: &out)
            ContentLine.writeLiteral("PERCENT-COMPLETE:100", into: &out)
        } else {
            ContentLine.writeLiteral("STATUS:NEEDS-ACTION", into: &out)
        }
        ContentLine.writeLiteral("END:VTODO", into: &out)
    }

    private static func writeIdentityAndStamps(of todo: TodoFields, into out: inout [UInt8]) {
        ContentLine.writeText(name: "UID", text: todo.uid, domain: todo.uidDomain, into: &out)
        // DTSTAMP comes from the todo, not the clock, so that equal state renders equal bytes (and ETags).
        ContentLine.writeDateTime(name: "DTSTAMP", todo.lastModified, into: &out)
        ContentLine.writeDateTime(name: "CREATED", todo.created, into: &out)
        ContentLine.writeDateTime(name: "LAST-MODIFIED", todo.lastModified, into: &out)
        // SEQUENCE is a non-negative integer in RFC 5545.
        ContentLine.writeInteger(name: "SEQUENCE", max(todo.sequence, 0), into: &out)
    }

    private static func writeDescription(of todo: TodoFields, into out: inout [UInt8]) {
        guard !todo.description.isEmpty else { return }
        ContentLine.writeText(name: "DESCRIPTION", text: todo.description, into: &out)
    }

    // One allocation per fragment: fixed lines (~300 octets) plus text with a margin for escapes and folds.
    private static func estimatedSize(of todo: TodoFields) -> Int {
        let text =
            todo.uid.utf8.count + 1 + todo.uidDomain.utf8.count + todo.summary.utf8.count + todo.description.utf8.count
        return 320 + text + text / 16
    }
}
