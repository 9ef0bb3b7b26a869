import Foundation
import Synchronization

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

    private let process: Process
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
    init(_ arguments: [String], environment: [String: String]) throws {
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "almanac-cli-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.directory = directory
        self.stdoutURL = directory.appendingPathComponent("stdout")
        self.stderrURL = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: self.stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: self.stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: self.stdoutURL)
        process.standardError = try FileHandle(forWritingTo: self.stderrURL)
        process.standardInput = FileHandle.nullDevice
        self.process = process
        let exit = self.exit
        process.terminationHandler = { process in exit.record(process.terminationStatus) }
        try process.run()
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
    func interrupt() { self.process.interrupt() }

    /// Kills it if it still runs (a test that failed half-way must not leave it behind).
    func kill() {
        if self.process.isRunning { self.process.terminate() }
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
