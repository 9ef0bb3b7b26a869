import CZlib

/// zlib's inflate, as a reference decoder for the streams under test.
enum Inflate {
    struct Failure: Error, CustomStringConvertible {
        var status: Int32
        var message: String
        var description: String { "inflate failed (\(status)): \(message)" }
    }

    /// Decodes one gzip member (windowBits 16 + 15), which must span all of `bytes`. zlib checks the
    /// trailer's CRC-32 and ISIZE against what it decoded and fails otherwise.
    static func gunzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        let result = try run(bytes, initialize: czlib_inflate_init_gzip) { output.append(contentsOf: $0) }
        guard result.reachedEnd else { throw Failure(status: Z_BUF_ERROR, message: "truncated gzip stream") }
        guard result.unconsumed == 0 else {
            throw Failure(status: Z_DATA_ERROR, message: "\(result.unconsumed) bytes after the gzip member")
        }
        return output
    }

    /// Decodes `bytes` as raw deflate with a fresh (empty) window. `reachedEnd` tells whether a final block
    /// was seen.
    static func raw(_ bytes: [UInt8]) throws -> (output: [UInt8], reachedEnd: Bool) {
        var output: [UInt8] = []
        let result = try run(bytes, initialize: czlib_inflate_init_raw) { output.append(contentsOf: $0) }
        return (output, result.reachedEnd)
    }

    /// Decodes one gzip member without keeping the output: its length and CRC-32 (for streams of gigabytes).
    static func gunzipChecksum(_ bytes: [UInt8]) throws -> (count: UInt64, crc32: UInt32) {
        var count: UInt64 = 0
        var crc: uLong = 0
        let result = try run(bytes, initialize: czlib_inflate_init_gzip) { piece in
            count += UInt64(piece.count)
            crc = crc32_z(crc, piece.baseAddress!.assumingMemoryBound(to: Bytef.self), z_size_t(piece.count))
        }
        guard result.reachedEnd, result.unconsumed == 0 else {
            throw Failure(status: Z_DATA_ERROR, message: "not exactly one gzip member")
        }
        return (count, UInt32(crc))
    }

    private static func run(
        _ bytes: [UInt8],
        initialize: (z_streamp) -> Int32,
        output: (UnsafeRawBufferPointer) -> Void
    ) throws -> (reachedEnd: Bool, unconsumed: Int) {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer {
            inflateEnd(stream)
            stream.deallocate()
        }
        let status = initialize(stream)
        guard status == Z_OK else { throw Failure(status: status, message: "inflateInit2") }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 1)
        defer { chunk.deallocate() }
        return try bytes.withUnsafeBytes { input in
            // nil with avail_in 0 is what zlib expects for empty input.
            stream.pointee.next_in = input.baseAddress.map {
                UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self))
            }
            stream.pointee.avail_in = uInt(input.count)
            while true {
                stream.pointee.next_out = chunk.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_out = uInt(chunk.count)
                let status = inflate(stream, Z_NO_FLUSH)
                let produced = chunk.count - Int(stream.pointee.avail_out)
                if produced > 0 { output(UnsafeRawBufferPointer(rebasing: chunk[..<produced])) }
                switch status {
                case Z_STREAM_END:
                    return (true, Int(stream.pointee.avail_in))
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.pointee.avail_in == 0:
                    // All input consumed without a final block.
                    return (false, 0)
                default:
                    let message = stream.pointee.msg.map { String(cString: $0) } ?? "no message"
                    throw Failure(status: status, message: message)
                }
            }
        }
    }
}
