/// The PostgreSQL NOTIFY channels Almanac uses. Every writer and listener names them here.
public enum Channels {
    /// Appends signal here; the payload is the stream (user) id.
    public static let events = "almanac_events"
    /// Projection writes and feed-token rotations signal here; the payload starts with `user:`.
    public static let calendars = "almanac_calendars"
    /// Submitted `full` jobs signal here; the payload is the job id.
    public static let jobs = "almanac_jobs"
}
