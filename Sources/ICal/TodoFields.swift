/// Everything a component needs to know about one todo.
public struct TodoFields: Sendable, Hashable {
    /// Rendered as UID; stays the same for the life of the todo so that clients update rather than duplicate it.
    public var uid: String
    /// When not empty, UID is `uid@uidDomain` (RFC 5545 3.8.4.7's advice for globally unique UIDs); kept apart so that
    /// a render does not build a new string per todo.
    public var uidDomain: String
    /// Plain text; escaping is the renderer's job.
    public var summary: String
    /// Plain text; an empty description renders no DESCRIPTION line.
    public var description: String
    /// Rendered as CREATED.
    public var created: ICalDateTime
    /// Also rendered as DTSTAMP, so the same todo always renders the same bytes (never "now").
    public var lastModified: ICalDateTime
    /// Rendered as SEQUENCE (negative values as 0).
    public var sequence: Int
    /// `nil` while the todo is open.
    public var completedAt: ICalDateTime?
    /// `nil` when the todo has no due date; such a todo has no VEVENT.
    public var due: ComponentTiming?

    /// Creates the fields of one todo.
    public init(
        uid: String,
        uidDomain: String = "",
        summary: String,
        description: String = "",
        created: ICalDateTime,
        lastModified: ICalDateTime,
        sequence: Int = 0,
        completedAt: ICalDateTime? = nil,
        due: ComponentTiming? = nil
    ) {
        self.uid = uid
        self.uidDomain = uidDomain
        self.summary = summary
        self.description = description
        self.created = created
        self.lastModified = lastModified
        self.sequence = sequence
        self.completedAt = completedAt
        self.due = due
    }
}
