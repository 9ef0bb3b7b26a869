import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// nginx serving one file (the feed's bytes) on a free loopback port, from a generated minimal
/// configuration in a temporary directory (pid, logs and temp paths in it), in the foreground
/// (`daemon off`) as a child of this process; `stop()` ends it and removes the directory.
final class Nginx {
    let directory: URL
    let port: Int
    let file: String
    private let process: Process

    var url: String { "http://127.0.0.1:\(port)/\(file)" }

    /// nginx on PATH or in /usr/sbin (`benchmarks/run` installs it).
    static func find() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"] {
            let candidate = "\(directory)/nginx"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// nginx's master process (its workers are its children).
    var processID: Int32 { process.processIdentifier }

    private init(directory: URL, port: Int, file: String, process: Process) {
        self.directory = directory
        self.port = port
        self.file = file
        self.process = process
    }

    /// Starts nginx serving `contents` as `/<file>`.
    static func start(executable: String, file: String, contents: Data) throws -> Nginx {
        let fm = FileManager.default
        // World-traversable (0755): nginx's workers run as nobody when this process is root.
        let directory = fm.temporaryDirectory.appendingPathComponent("almanac-bench-nginx-\(UUID().uuidString)")
        let root = directory.appendingPathComponent("www")
        try fm.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try contents.write(to: root.appendingPathComponent(file))
        try fm.setAttributes([.posixPermissions: 0o644], ofItemAtPath: root.appendingPathComponent(file).path)
        let port = try freePort()
        let d = directory.path
        let configuration = """
            daemon off;
            worker_processes auto;
            pid \(d)/nginx.pid;
            error_log \(d)/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(d)/client_body;
                proxy_temp_path \(d)/proxy;
                fastcgi_temp_path \(d)/fastcgi;
                uwsgi_temp_path \(d)/uwsgi;
                scgi_temp_path \(d)/scgi;
                types { text/calendar ics; }
                default_type application/octet-stream;
                sendfile on;
                tcp_nopush on;
                keepalive_timeout 300s;
                keepalive_requests 100000000;
                server {
                    listen 127.0.0.1:\(port);
                    root \(root.path);
                    etag on;
                }
            }

            """
        let configurationFile = directory.appendingPathComponent("nginx.conf")
        try Data(configuration.utf8).write(to: configurationFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-p", d, "-c", configurationFile.path, "-e", "\(d)/error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return Nginx(directory: directory, port: port, file: file, process: process)
    }

    /// Waits until nginx answers (or has exited, with its error log).
    func waitUntilServing(_ http: AlmanacHTTP) async throws {
        for _ in 0..<200 {
            guard process.isRunning else {
                let log =
                    (try? String(contentsOf: directory.appendingPathComponent("error.log"), encoding: .utf8)) ?? ""
                throw BenchError("nginx exited with \(process.terminationStatus): \(log)")
            }
            if let reply = try? await http.feed(url, ifNoneMatch: nil), reply.isSuccess { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw BenchError("nginx did not answer on \(url)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// A loopback TCP port nobody listens on now (bound to port 0, read back, released).
    static func freePort() throws -> Int {
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw BenchError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw BenchError("bind() failed") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw BenchError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
