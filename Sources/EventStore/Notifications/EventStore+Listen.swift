import Logging
import PostgresNIO

extension EventStore {
    /// LISTENs on `channel` until cancelled, on a connection of `listenClient` (never one a
    /// request may need), reconnecting after any failure.
    ///
    /// A keepalive statement runs every `keepalive`; when it does not answer within
    /// `keepaliveTimeout` the connection is closed and replaced, so a silently dead connection
    /// (a network fault with no reset) is noticed. `onListening` runs when the LISTEN is in
    /// effect, `onLost` whenever it ended: anything trusted because of it must be dropped then.
    public func listen(
        on channel: String,
        keepalive: Duration = .seconds(10),
        keepaliveTimeout: Duration = .seconds(5),
        onListening: @escaping @Sendable () -> Void = {},
        onLost: @escaping @Sendable () -> Void = {},
        onNotification: @escaping @Sendable (String) -> Void
    ) async {
        let logger = self.logger
        while !Task.isCancelled {
            do {
                try await listenClient.withConnection { connection in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            try await connection.listen(on: channel) { notifications in
                                onListening()
                                for try await notification in notifications { onNotification(notification.payload) }
                            }
                        }
                        group.addTask {
                            while true {
                                try await Task.sleep(for: keepalive)
                                try await Self.probe(connection, timeout: keepaliveTimeout, logger: logger)
                            }
                        }
                        // Either ending (the LISTEN failed, the probe failed) ends both.
                        try await group.next()
                        group.cancelAll()
                    }
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "LISTEN lost; reconnecting",
                    metadata: ["channel": "\(channel)", "error": "\(String(reflecting: error))"]
                )
            }
            onLost()
            try? await Task.sleep(for: .seconds(1))
        }
        onLost()
    }

    /// `SELECT 1` within `timeout`, else the connection is closed (which fails what waits on it).
    static func probe(_ connection: PostgresConnection, timeout: Duration, logger: Logger) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await connection.run("SELECT 1", logger: logger)
                return true
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return false
            }
            let answered = try await group.next() ?? false
            group.cancelAll()
            if !answered {
                try? await connection.close()
                throw ConnectionLost()
            }
        }
    }
}
