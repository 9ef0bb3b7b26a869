import Synchronization

/// The port of an API server started on port 0 (`AlmanacRuntime.APISettings.onListening`): the
/// kernel chooses a free port at the bind itself, where a port chosen beforehand (`freePort`) can
/// be taken before the server binds it.
public final class ListeningPort: Sendable {
    private let bound = Mutex<Int?>(nil)

    public init() {}

    /// The `onListening` callback.
    public var record: @Sendable (Int) async -> Void {
        { [self] port in self.bound.withLock { $0 = port } }
    }

    /// The port, once the server listens.
    public func port() async throws -> Int {
        var port: Int?
        try await poll("the API server listens") {
            port = bound.withLock { $0 }
            return port != nil
        }
        return port!
    }
}
