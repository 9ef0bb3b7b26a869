import Foundation
import Testing

@testable import EventStore

#if canImport(Glibc)
    import Glibc
#endif

/// `ChildProcess` starts `pg_ctl`, whose postmaster outlives it as a daemon. NIO's sockets are
/// not close-on-exec: a daemon started while one was open kept it for as long as it ran (a
/// listener's port stayed bound; a connection its owner closed stayed open on its server, with
/// its transaction). Children get no descriptor but their standard ones.
@Suite("Child processes")
struct ChildProcessTests {
    /// With glibc's close-from action, the daemon holds no socket at all; with the fallback that
    /// marks this process's descriptors close-on-exec (a socket another test opens between the
    /// sweep and the spawn can still pass), it holds none of those open before the spawn.
    @Test(arguments: [false, true])
    func aDaemonStartedByAChildProcessKeepsNoSocketOfOurs(sweep: Bool) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        try #require(Glibc.listen(listener, 1) == 0)
        let ours = try Self.link(pid: getpid(), descriptor: String(listener))
        // A daemon: the shell starts `sleep` in the background, says its pid and exits.
        let (status, output) = try ChildProcess.run(
            ["/bin/sh", "-c", "sleep 60 </dev/null >/dev/null 2>&1 & echo $!"],
            environment: [:],
            sweep: sweep
        )
        #expect(status == 0)
        let daemon = try #require(pid_t(output.trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(daemon, SIGKILL) }
        let sockets = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon)/fd")
            .compactMap { try? Self.link(pid: daemon, descriptor: $0) }
            .filter { $0.hasPrefix("socket:") }
        #expect(!sockets.contains(ours), "the daemon holds the listening socket")
        if !sweep { #expect(sockets.isEmpty, "the daemon holds \(sockets.count) sockets") }
    }

    static func link(pid: pid_t, descriptor: String) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)")
    }
}
