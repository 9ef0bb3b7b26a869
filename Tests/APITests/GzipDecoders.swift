import CZlib
import Foundation

/// Two independent gzip decoders for the feeds under test: zlib's inflate in-process (which checks
/// the trailer's CRC-32 and length) and Python's `gzip` module in a child process.
enum GzipDecoders {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Decodes exactly one gzip member spanning all of `bytes` with zlib.
    static func zlib(_ bytes: [UInt8]) throws -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            inflateEnd(stream)
            stream.deallocate()
        }
        // windowBits 16 + 15: a gzip wrapper only.
        guard czlib_inflate_init_gzip(stream) == Z_OK else {
            throw Failure(description: "inflateInit2 failed")
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        return try bytes.withUnsafeBytes { input in
            stream.pointee.next_in = input.baseAddress.map {
                UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
            }
            stream.pointee.avail_in = uInt(input.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBytes { space in
                    stream.pointee.next_out = space.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = uInt(space.count)
                    let status = inflate(stream, Z_NO_FLUSH)
                    return (status, space.count - Int(stream.pointee.avail_out))
                }
                output += chunk[..<produced]
                switch status {
                case Z_STREAM_END:
                    guard stream.pointee.avail_in == 0 else {
                        throw Failure(description: "\(stream.pointee.avail_in) bytes after the gzip member")
                    }
                    return output
                case Z_OK:
                    continue
                default:
                    let message = stream.pointee.msg.map { String(cString: $0) } ?? "no message"
                    throw Failure(description: "inflate failed (\(status)): \(message)")
                }
            }
        }
    }

    /// `gzip.decompress` of Python 3, which also checks the CRC-32 and the length.
    static func python(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("almanac-feed-gzip-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("feed.ics.gz")
        let output = directory.appendingPathComponent("feed.ics")
        try Data(bytes).write(to: input)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import gzip, sys; open(sys.argv[2], 'wb').write(gzip.decompress(open(sys.argv[1], 'rb').read()))",
            input.path, output.path,
        ]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python gzip failed: \(String(decoding: message, as: UTF8.self))")
        }
        return try [UInt8](Data(contentsOf: output))
    }
}
