import PostgresNIO

/// Errors that mean "the database cannot be reached right now" (a restart, a failover, a
/// network fault) rather than a bug: callers answer 503 and retry, loops back off and resume.
public enum DatabaseOutage {
    /// SQLSTATE classes of an unavailable server: 08 connection exception, 57P0x operator
    /// intervention (admin shutdown, crash shutdown, cannot connect now), 53300 too many connections.
    static let unavailableStates: Set<String> = ["57P01", "57P02", "57P03", "53300"]

    public static func isOutage(_ error: any Error) -> Bool {
        if error is ConnectionLost { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return true
        default:
            break
        }
        if let state = error.sqlState {
            return state.hasPrefix("08") || unavailableStates.contains(state)
        }
        return false
    }
}
