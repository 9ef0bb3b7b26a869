public import Foundation
public import Logging

/// A private PostgreSQL cluster under a folder of the project (`.almanac/postgres`), for
/// `almanac serve` without `DATABASE_URL` and for the test script.
///
/// It listens on loopback only, with a random password kept in the folder (mode 0600).
/// PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user.
public struct EmbeddedPostgres: Sendable {
    public var directory: URL
    public var port: Int
    let logger: Logger

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(directory: URL, port: Int, logger: Logger) {
        self.directory = directory.standardizedFileURL
        self.port = port
        self.logger = logger
    }

    var dataDirectory: URL { directory.appendingPathComponent("data") }
    var passwordFile: URL { directory.appendingPathComponent("password") }
    var logFile: URL { directory.appendingPathComponent("postgres.log") }

    /// The URL clients connect with.
    public func databaseURL() throws -> String {
        let password = try String(contentsOf: passwordFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines
        )
        return "postgres://almanac:\(password)@127.0.0.1:\(port)/almanac?sslmode=disable"
    }

    /// Creates the cluster if needed and starts it; returns false when it was already running.
    @discardableResult
    public func start() throws -> Bool {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        if !fm.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            try initialize()
        }
        if try run(tool("pg_ctl"), ["-D", dataDirectory.path, "status"], allowFailure: true) == 0 {
            logger.info("embedded PostgreSQL already running", metadata: ["data": "\(dataDirectory.path)"])
            return false
        }
        logger.info("starting embedded PostgreSQL", metadata: ["data": "\(dataDirectory.path)", "port": "\(port)"])
        try run(
            tool("pg_ctl"),
            ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-t", "60", "-o", "-p \(port)", "start"]
        )
        try run(
            tool("psql"),
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "almanac", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
                "-c", "SELECT 1",
            ],
            allowFailure: true,
            password: true
        )
        return true
    }

    /// Restarts the cluster with a fast shutdown (open transactions are rolled back, every
    /// connection is dropped): what a routine database restart does to clients.
    public func restart() throws {
        logger.info("restarting embedded PostgreSQL")
        try run(
            tool("pg_ctl"),
            [
                "-D", dataDirectory.path, "-l", logFile.path, "-m", "fast", "-w", "-t", "60", "-o", "-p \(port)",
                "restart",
            ]
        )
    }

    /// Stops the cluster (fast shutdown: open transactions are rolled back).
    public func stop() {
        logger.info("stopping embedded PostgreSQL")
        _ = try? run(tool("pg_ctl"), ["-D", dataDirectory.path, "-m", "fast", "-w", "stop"], allowFailure: true)
    }

    private func initialize() throws {
        let fm = FileManager.default
        let password = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        _ = fm.createFile(
            atPath: passwordFile.path,
            contents: Data(password.utf8),
            attributes: [.posixPermissions: 0o600]
        )
        try fm.createDirectory(
            at: dataDirectory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let pwfile = directory.appendingPathComponent("initdb-password")
        _ = fm.createFile(atPath: pwfile.path, contents: Data(password.utf8), attributes: [.posixPermissions: 0o600])
        defer { try? fm.removeItem(at: pwfile) }
        if isRoot {
            try run("/bin/chown", ["-R", "postgres:postgres", dataDirectory.path, pwfile.path], asPostgres: false)
            _ = fm.createFile(atPath: logFile.path, contents: nil)
            try run("/bin/chown", ["postgres:postgres", logFile.path], asPostgres: false)
        }
        logger.info("initialising embedded PostgreSQL cluster", metadata: ["data": "\(dataDirectory.path)"])
        try run(
            tool("initdb"),
            [
                "-D", dataDirectory.path, "-U", "almanac", "--pwfile", pwfile.path, "--auth", "scram-sha-256",
                "-E", "UTF8", "--locale", "C", "--no-sync",
            ]
        )
        let settings = """

            # Almanac embedded cluster: loopback only, no Unix socket.
            listen_addresses = '127.0.0.1'
            unix_socket_directories = ''
            max_connections = 200
            fsync = on

            """
        let conf = dataDirectory.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: conf)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(settings.utf8))
        try handle.close()
        try run(tool("pg_ctl"), ["-D", dataDirectory.path, "-l", logFile.path, "-w", "-o", "-p \(port)", "start"])
        try run(
            tool("psql"),
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", "almanac", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q",
                "-c", "CREATE DATABASE almanac",
            ],
            password: true
        )
        try run(tool("pg_ctl"), ["-D", dataDirectory.path, "-m", "fast", "-w", "stop"])
    }

    var isRoot: Bool { geteuid() == 0 }

    /// Finds a PostgreSQL program on PATH or in Debian's versioned folder.
    func tool(_ name: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        var candidates = path.split(separator: ":").map { "\($0)/\(name)" }
        let debian = "/usr/lib/postgresql"
        if let versions = try? FileManager.default.contentsOfDirectory(atPath: debian) {
            candidates += versions.sorted(by: >).map { "\(debian)/\($0)/bin/\(name)" }
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw Failure(
                description: "\(name) not found: install PostgreSQL (apt-get install postgresql) or set DATABASE_URL"
            )
        }
        return found
    }

    @discardableResult
    func run(
        _ executable: String,
        _ arguments: [String],
        allowFailure: Bool = false,
        asPostgres: Bool = true,
        password: Bool = false
    )
        throws -> Int32
    {
        var environment = ProcessInfo.processInfo.environment
        var argv: [String]
        // The password travels in the environment only: a command line is visible to every
        // local user in `ps` (runuser keeps the environment).
        if password { environment["PGPASSWORD"] = try String(contentsOf: passwordFile, encoding: .utf8) }
        if isRoot && asPostgres {
            argv = ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments
        } else {
            argv = [executable] + arguments
        }
        let (status, output) = try ChildProcess.run(argv, environment: environment)
        if status != 0 && !allowFailure {
            throw Failure(
                description: "\((executable as NSString).lastPathComponent) failed (\(status)): \(output.suffix(2000))"
            )
        }
        return status
    }
}
