import EventStore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The built `almanac` executable, run as a child process with the moto endpoint in its environment.
///
/// Output goes to files, not pipes, so a chatty child never blocks on a full pipe, and the test
/// can read what it printed so far while it runs.
final class AlmanacProcess: Sendable {
    struct NotBuilt: Error, CustomStringConvertible {
        var path: String
        var description: String {
            "the almanac executable is not at \(self.path): build it first (swift build), or set ALMANAC_EXECUTABLE"
        }
    }

    /// How a finished run ended.
    struct Outcome: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private let pid: pid_t
    private let directory: URL
    private let stdoutURL: URL
    private let stderrURL: URL
    private let exit = ExitStatus()

    /// `.build/debug/almanac` next to the test bundle, unless `ALMANAC_EXECUTABLE` names another.
    static func executable() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["ALMANAC_EXECUTABLE"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // The runner is .build/<triple>/debug/<package>PackageTests.xctest (a file on Linux, a directory's
        // Contents/MacOS on macOS); the product sits in the same build directory.
        var directory = bundle.deletingLastPathComponent()
        while directory.path != "/" && !directory.lastPathComponent.hasSuffix(".xctest")
            && !FileManager.default.fileExists(atPath: directory.appendingPathComponent("almanac").path)
        {
            directory = directory.deletingLastPathComponent()
        }
        if directory.lastPathComponent.hasSuffix(".xctest") { directory = directory.deletingLastPathComponent() }
        let executable = directory.appendingPathComponent("almanac")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw NotBuilt(path: executable.path)
        }
        return executable
    }

    /// Starts `almanac arguments...` with `environment` added to this process's.
    ///
    /// posix_spawn and a thread of its own blocked in waitpid: Foundation's `Process` was seen to
    /// lose the termination of a child under load (its handler never ran, the test waited forever).
    init(_ arguments: [String], environment: [String: String]) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "almanac-cli-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.stdoutURL = directory.appendingPathComponent("stdout")
        self.stderrURL = directory.appendingPathComponent("stderr")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrURL.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // None of the test process's sockets (NIO's are not close-on-exec): the child lives as long
        // as its test, and would keep a port probed or bound meanwhile, or a connection, open.
        ChildProcess.closeDescriptorsFromThree(&actions)
        let executable = try Self.executable().path
        let merged = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let cArguments = ([executable] + arguments).map { strdup($0) } + [nil]
        let cEnvironment = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArguments.forEach { free($0) }
            cEnvironment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, cArguments, cEnvironment)
        guard spawned == 0 else { throw NotBuilt(path: "\(executable) (posix_spawn: \(spawned))") }
        self.pid = pid
        let exit = self.exit
        let child = pid
        let watcher = Thread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS by hand: the macros are not imported into Swift.
            exit.record((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
        }
        watcher.start()
    }

    deinit {
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Runs `almanac arguments...` to the end.
    static func run(_ arguments: [String], environment: [String: String]) async throws -> Outcome {
        let process = try AlmanacProcess(arguments, environment: environment)
        return await process.outcome()
    }

    /// What it printed to stdout so far.
    var stdout: String { (try? String(contentsOf: self.stdoutURL, encoding: .utf8)) ?? "" }
    /// What it printed to stderr so far.
    var stderr: String { (try? String(contentsOf: self.stderrURL, encoding: .utf8)) ?? "" }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    func interrupt() { _ = Glibc.kill(self.pid, SIGINT) }

    /// Kills it if it still runs (a test that failed half-way must not leave it behind).
    func kill() {
        if !self.exit.hasExited { _ = Glibc.kill(self.pid, SIGTERM) }
    }

    /// Waits for it to exit.
    func outcome() async -> Outcome {
        let status = await self.exit.wait()
        return Outcome(status: status, stdout: self.stdout, stderr: self.stderr)
    }
}

/// The exit status of a child, awaited without blocking a thread (`waitUntilExit` would).
private final class ExitStatus: Sendable {
    private let state = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))

    var hasExited: Bool { self.state.withLock { $0.status != nil } }

    func record(_ status: Int32) {
        let waiters = self.state.withLock { state in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            let done = self.state.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}
