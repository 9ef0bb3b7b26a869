public import EventStore
import Foundation
import NIOCore
import NIOPosix

/// A PostgreSQL cluster of one test's own (the shared test cluster must never be restarted
/// under other tests): created in a temporary folder on a free loopback port, stopped and
/// removed afterwards.
public struct PrivatePostgres: Sendable {
    public let cluster: EmbeddedPostgres
    public let url: String

    /// Runs `body` with a fresh cluster.
    public static func with<Result: Sendable>(_ body: (PrivatePostgres) async throws -> Result) async throws -> Result {
        let (cluster, directory) = try await started()
        let postgres = PrivatePostgres(cluster: cluster, url: try cluster.databaseURL())
        let outcome: Swift.Result<Result, any Error>
        do {
            outcome = .success(try await body(postgres))
        } catch {
            outcome = .failure(error)
        }
        try? await NIOThreadPool.singleton.runIfActive {
            cluster.stop()
            try? FileManager.default.removeItem(at: directory)
        }
        return try outcome.get()
    }

    /// A started cluster in a fresh folder. `freePort` cannot reserve the port it finds: another
    /// test can bind it before PostgreSQL does ("could not bind ... Address already in use", seen
    /// in a full run), so a start that fails is retried on another port, three times at most.
    private static func started() async throws -> (EmbeddedPostgres, URL) {
        var attempt = 1
        while true {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "almanac-private-pg-\(UUID().uuidString.prefix(8))"
            )
            let cluster = EmbeddedPostgres(directory: directory, port: try freePort(), logger: TestDatabase.logger)
            do {
                _ = try await NIOThreadPool.singleton.runIfActive { try cluster.start() }
                return (cluster, directory)
            } catch {
                try? FileManager.default.removeItem(at: directory)
                guard attempt < 3 else { throw error }
                attempt += 1
            }
        }
    }

    /// `pg_ctl restart -m fast`: every connection drops, open transactions roll back.
    public func restart() async throws {
        try await NIOThreadPool.singleton.runIfActive { try cluster.restart() }
    }

    /// Stops the cluster (until `start`).
    public func stop() async throws {
        try await NIOThreadPool.singleton.runIfActive { cluster.stop() }
    }

    public func start() async throws {
        try await NIOThreadPool.singleton.runIfActive { _ = try cluster.start() }
    }
}

/// A loopback TCP port nobody listens on right now.
public func freePort() throws -> Int {
    let socket = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).wait()
    defer { try? socket.close().wait() }
    return socket.localAddress?.port ?? 0
}
