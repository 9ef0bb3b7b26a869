import Foundation

/// The `wrk` HTTP load generator (a separate process, so it does not share this one's threads).
struct Wrk {
    let executable: String

    /// wrk on PATH, if installed (`benchmarks/run` installs it).
    static func find() -> Wrk? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            let candidate = "\(directory)/wrk"
            if FileManager.default.isExecutableFile(atPath: candidate) { return Wrk(executable: candidate) }
        }
        return nil
    }

    struct Report: Sendable {
        var requestsPerSecond: Double
        var requests: Int
        var errors: Int
        /// Latency percentiles in milliseconds (50, 75, 90, 99).
        var latency: [Int: Double]
        var transferPerSecond: String
    }

    func run(
        url: String,
        threads: Int,
        connections: Int,
        seconds: Int,
        headers: [String],
        script: URL? = nil
    ) async throws -> Report {
        var arguments = ["-t\(threads)", "-c\(connections)", "-d\(seconds)s", "--latency"]
        for header in headers { arguments += ["-H", header] }
        if let script { arguments += ["-s", script.path] }
        arguments.append(url)
        let output = try await Self.launch(executable, arguments)
        guard let report = Self.parse(output) else { throw BenchError("could not read wrk's output:\n\(output)") }
        return report
    }

    /// Runs a program to its end without blocking a thread of the concurrency pool.
    static func launch(_ executable: String, _ arguments: [String]) async throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        // wrk prints a few hundred octets: they fit in the pipe's buffer until it has exited.
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard status == 0 else { throw BenchError("\(executable) exited with \(status): \(text)") }
        return text
    }

    static func parse(_ output: String) -> Report? {
        var report = Report(requestsPerSecond: .nan, requests: 0, errors: 0, latency: [:], transferPerSecond: "")
        var inDistribution = false
        for raw in output.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if line.hasPrefix("Requests/sec:"), let value = fields.last.flatMap({ Double($0) }) {
                report.requestsPerSecond = value
            } else if line.hasPrefix("Transfer/sec:"), let value = fields.last {
                report.transferPerSecond = String(value)
            } else if line.hasPrefix("Non-2xx or 3xx responses:"), let value = fields.last.flatMap({ Int($0) }) {
                report.errors += value
            } else if line.hasPrefix("Socket errors:") {
                // "Socket errors: connect 0, read 0, write 0, timeout 0"
                report.errors += fields.compactMap { Int($0.trimmingCharacters(in: .punctuationCharacters)) }.reduce(
                    0,
                    +
                )
            } else if line.contains("requests in"), let value = fields.first.flatMap({ Int($0) }) {
                report.requests = value
            } else if line.hasPrefix("Latency Distribution") {
                inDistribution = true
            } else if inDistribution, fields.count == 2, fields[0].hasSuffix("%"),
                let percent = Int(fields[0].dropLast()), let ms = milliseconds(String(fields[1]))
            {
                report.latency[percent] = ms
            } else {
                inDistribution = inDistribution && fields.first?.hasSuffix("%") == true
            }
        }
        return report.requestsPerSecond.isNaN ? nil : report
    }

    /// wrk's durations: `812.00us`, `1.20ms`, `2.01s`, `1.00m`.
    static func milliseconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("us", 0.001), ("ms", 1), ("s", 1000), ("m", 60_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)) { return value * scale }
        }
        return nil
    }
}
