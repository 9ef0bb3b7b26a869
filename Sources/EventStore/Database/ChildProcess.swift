import Foundation

#if canImport(Glibc)
    package import Glibc
#elseif canImport(Musl)
    package import Musl
#elseif canImport(Darwin)
    package import Darwin
#endif

/// Runs a program to completion with posix_spawn and waitpid.
///
/// Foundation's `Process.waitUntilExit` was seen to hang after `pg_ctl start` left a daemon
/// behind; this waits for exactly the child and captures its output through a file. The child
/// gets only standard input (`/dev/null`), output and error (the file), no other descriptor.
package enum ChildProcess {
    struct SpawnFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// `sweep`: mark descriptors close-on-exec even where glibc's action exists (its fallback, for tests).
    static func run(
        _ argv: [String],
        environment: [String: String],
        sweep: Bool = false
    ) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("almanac-child-\(UUID().uuidString).log").path
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of ours: NIO's sockets are not close-on-exec, and `pg_ctl start` leaves a
        // daemon (the postmaster) that would keep every socket open at this moment for as long as
        // it runs: a listener's port stayed bound, a closed connection stayed open on the server.
        closeDescriptorsFromThree(&actions, sweep: sweep)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard spawned == 0 else {
            throw SpawnFailed(description: "could not start \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw SpawnFailed(description: "waitpid failed: \(errno)") }
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS by hand: the macros are not imported into Swift.
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitCode, output)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later; Swift's Glibc module
    /// does not declare it: it is a GNU extension), looked up once.
    private static let addCloseFrom:
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
            // RTLD_DEFAULT: the symbol wherever the process has it.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
            else { return nil }
            return unsafeBitCast(
                symbol,
                to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self
            )
        }()

    /// Makes the child close every descriptor from 3 up (the package's spawns that do not go
    /// through Foundation's `Process`, which closes them itself, use it). Without glibc's action (an older libc), marks this process's
    /// open descriptors from 3 up close-on-exec instead (a descriptor opened by another thread in
    /// between can still be inherited).
    package static func closeDescriptorsFromThree(_ actions: inout posix_spawn_file_actions_t, sweep: Bool = false) {
        if !sweep, let addCloseFrom, addCloseFrom(&actions, 3) == 0 { return }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for descriptor in descriptors.compactMap({ Int32($0) }) where descriptor >= 3 {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
