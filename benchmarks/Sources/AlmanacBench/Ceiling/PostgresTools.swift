import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// PostgreSQL's client programs (psql, pgbench), on PATH or in Debian's versioned folders.
enum PostgresTools {
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        var candidates = path.split(separator: ":").map { "\($0)/\(name)" }
        let debian = "/usr/lib/postgresql"
        if let versions = try? FileManager.default.contentsOfDirectory(atPath: debian) {
            candidates += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "\(debian)/\($0)/bin/\(name)" }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The database URL of `url` with another database name.
    static func url(_ url: String, database: String) -> String {
        guard var components = URLComponents(string: url) else { return url }
        components.path = "/" + database
        return components.string ?? url
    }

    /// Runs a program to its end, like `Wrk.launch`, but with no signal blocked: a child inherits
    /// this process's signal mask (SIGALRM blocked by its threads), and pgbench's `-T` ends on SIGALRM.
    static func launch(_ executable: String, _ arguments: [String]) async throws -> String {
        let output = Pipe()
        let writer = output.fileHandleForWriting.fileDescriptor
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, writer, 1)
        posix_spawn_file_actions_adddup2(&actions, writer, 2)
        posix_spawn_file_actions_addclose(&actions, output.fileHandleForReading.fileDescriptor)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        try? output.fileHandleForWriting.close()
        guard spawned == 0 else { throw BenchError("could not start \(executable): error \(spawned)") }
        let child = pid
        let (status, text): (Int32, String) = await withCheckedContinuation { continuation in
            // Reading and waiting block: a thread of their own, not one of the concurrency pool.
            Thread.detachNewThread {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                var status: Int32 = 0
                while waitpid(child, &status, 0) < 0 && errno == EINTR {}
                continuation.resume(returning: (status, String(decoding: data, as: UTF8.self)))
            }
        }
        // Exited normally with 0 (a wait status of 0).
        guard status == 0 else { throw BenchError("\(executable) ended with wait status \(status): \(text)") }
        return text
    }
}
