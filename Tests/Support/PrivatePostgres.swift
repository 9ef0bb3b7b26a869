public import EventStore
import Foundation
import NIOCore
import NIOPosix
import Synchronization

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

/// The kernel's range of source ports for outgoing connections
/// (`/proc/sys/net/ipv4/ip_local_port_range`); nil where it cannot be read.
public func ephemeralPortRange() -> ClosedRange<Int>? {
    guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8) else {
        return nil
    }
    let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    guard bounds.count == 2, bounds[0] <= bounds[1] else { return nil }
    return bounds[0]...bounds[1]
}

/// A loopback TCP port nobody listens on right now, outside the kernel's ephemeral range.
///
/// The caller binds it later; a port from the ephemeral range (what binding port 0 gives) can
/// meanwhile become the source port of any outgoing connection of the tests running beside it,
/// and that bind then fails with "Address already in use" (seen in a full run). Outside the
/// range, only another explicit bind can take it: ports are drawn at random from
/// `freePortCandidates` (20000 up to the range's start, or above its end when there is no room
/// below), and one that is bound now is skipped. Where the range leaves no room either side
/// (e.g. "1024 65535"), the kernel chooses (port 0), as before this rule: racy, but it runs.
public func freePort() throws -> Int {
    guard let candidates = freePortCandidates(outside: ephemeralPortRange() ?? 32768...60999) else {
        let socket = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? socket.close().wait() }
        guard let port = socket.localAddress?.port else { throw NoFreePort(candidates: nil) }
        return port
    }
    for _ in 0..<100 {
        let port = Int.random(in: candidates)
        // Never twice in a process: the caller binds the port later, and meanwhile another test's
        // draw of it (or its probe bind below) would collide with that bind.
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        guard
            let socket = try? ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .bind(host: "127.0.0.1", port: port).wait()
        else { continue }
        try? socket.close().wait()
        return port
    }
    throw NoFreePort(candidates: candidates)
}

/// The ports `freePort` returned or found bound in this process.
private let handedOutPorts = Mutex<Set<Int>>([])

/// The ports `freePort` draws from, given the kernel's ephemeral range: 20000 up to the range's
/// start when there are at least 1,000 below it, else above the range's end; nil when there is
/// room on neither side. (The campaign's `free_port` in `Tests/Campaign/harness.py` follows the
/// same rule.)
public func freePortCandidates(outside ephemeral: ClosedRange<Int>) -> ClosedRange<Int>? {
    if ephemeral.lowerBound > 21_000 { return 20_000...(ephemeral.lowerBound - 1) }
    if ephemeral.upperBound < 65_535 { return (ephemeral.upperBound + 1)...65_535 }
    return nil
}

/// `freePort` found every port it tried bound.
public struct NoFreePort: Error, CustomStringConvertible {
    /// The ports tried; nil when the kernel was asked for one (port 0) and gave none.
    public var candidates: ClosedRange<Int>?
    public var description: String {
        guard let candidates else { return "the kernel gave no loopback port" }
        return "no free loopback port found in \(candidates) after 100 tries"
    }
}
