public import Foundation
import NIOPosix

/// Runs a command line tool to completion on NIO's thread pool (never blocking a thread of the
/// cooperative pool, which an in-process server under test may need meanwhile).
public enum Subprocess {
    public struct Output: Sendable {
        public var status: Int32
        public var standardOutput: Data
        public var standardError: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var arguments: [String]
        public var output: Output
        public var description: String {
            "\(arguments.joined(separator: " ")) exited with \(output.status): \(output.standardError)"
        }
    }

    /// Runs `arguments` (looked up on PATH); throws unless it exits with 0.
    @discardableResult
    public static func run(_ arguments: [String]) async throws -> Output {
        let output = try await NIOThreadPool.singleton.runIfActive { () throws -> Output in
            // Standard error goes to a file, so that neither pipe can fill up while the other is read.
            let errors = FileManager.default.temporaryDirectory
                .appendingPathComponent("almanac-subprocess-\(UUID().uuidString).stderr")
            try Data().write(to: errors)
            defer { try? FileManager.default.removeItem(at: errors) }
            let errorHandle = try FileHandle(forWritingTo: errors)
            defer { try? errorHandle.close() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            let standardOutput = Pipe()
            process.standardOutput = standardOutput
            process.standardError = errorHandle
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let out = standardOutput.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            return Output(status: process.terminationStatus, standardOutput: out, standardError: message)
        }
        guard output.status == 0 else { throw Failure(arguments: arguments, output: output) }
        return output
    }
}
