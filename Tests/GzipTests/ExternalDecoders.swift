import Foundation

/// Decoders outside zlib's C API, run as child processes: Python's `gzip` module and the system `gzip`.
enum ExternalDecoders {
    struct Failure: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var stderr: String
        var description: String { "\(command) exited with \(status): \(stderr)" }
    }

    /// `gzip.decompress` of Python 3.
    static func python(_ stream: [UInt8]) throws -> [UInt8] {
        try withFiles(stream) { input, output in
            let script = """
                import gzip, sys
                data = open(sys.argv[1], 'rb').read()
                open(sys.argv[2], 'wb').write(gzip.decompress(data))
                """
            try run(["python3", "-c", script, input.path, output.path])
            return try [UInt8](Data(contentsOf: output))
        }
    }

    /// `gzip -dc`, the system gzip decompressing standard input to standard output.
    static func gzipDecompress(_ stream: [UInt8]) throws -> [UInt8] {
        try withFiles(stream) { input, output in
            try run(["gzip", "-dc"], standardInput: input, standardOutput: output)
            return try [UInt8](Data(contentsOf: output))
        }
    }

    /// `gzip -t`, the system gzip's integrity test (CRC-32 and length), on standard input.
    static func gzipTest(_ stream: [UInt8]) throws {
        try withFiles(stream) { input, _ in
            try run(["gzip", "-t"], standardInput: input)
        }
    }

    private static func withFiles<T>(_ stream: [UInt8], _ body: (URL, URL) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("almanac-gzip-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("stream.gz")
        let output = directory.appendingPathComponent("decoded")
        try Data(stream).write(to: input)
        try Data().write(to: output)
        return try body(input, output)
    }

    private static func run(_ arguments: [String], standardInput: URL? = nil, standardOutput: URL? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let errors = FileManager.default.temporaryDirectory
            .appendingPathComponent("almanac-gzip-tests-\(UUID().uuidString).stderr")
        try Data().write(to: errors)
        defer { try? FileManager.default.removeItem(at: errors) }
        let errorHandle = try FileHandle(forWritingTo: errors)
        defer { try? errorHandle.close() }
        process.standardError = errorHandle
        var handles: [FileHandle] = []
        defer { for handle in handles { try? handle.close() } }
        if let standardInput {
            let handle = try FileHandle(forReadingFrom: standardInput)
            handles.append(handle)
            process.standardInput = handle
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        if let standardOutput {
            let handle = try FileHandle(forWritingTo: standardOutput)
            handles.append(handle)
            process.standardOutput = handle
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw Failure(command: arguments.joined(separator: " "), status: process.terminationStatus, stderr: message)
        }
    }
}
