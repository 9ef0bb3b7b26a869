import Foundation
import Gzip
import ICal
import NIOCore

/// A piece of a gzip stream ready to send: the deflate data of a `DeflatedBlock`, copied once
/// into a buffer (so serving it copies nothing), and the checksum of the bytes it inflates to.
struct GzipPart: Sendable {
    var bytes: ByteBuffer
    var checksum: GzipChecksum

    init(_ block: DeflatedBlock) {
        bytes = ByteBuffer(bytes: block.bytes)
        checksum = block.checksum
    }

    /// The zlib level of the feed cache's compressed blocks unless configured
    /// (`APIConfiguration.feedGzipLevel`): a block is compressed once per change and sent many
    /// times, so the default level's smaller output is worth its time by default.
    static let level: CompressionLevel = .default

    /// The 10-byte gzip member header that starts every compressed feed.
    static let streamHeader = ByteBuffer(bytes: GzipStream.header)

    /// `END:VCALENDAR`, compressed once per process, at the default level whatever the feed
    /// cache's (a deflate block decodes the same at any level, and these 15 bytes compress
    /// alike at all of them).
    static let footer = compress([ByteBuffer(bytes: CalendarFooter.bytes)])[0]

    /// Compresses `buffers` one after another with one zlib stream.
    static func compress(_ buffers: [ByteBuffer], level: CompressionLevel = level) -> [GzipPart] {
        var deflater = BlockDeflater(level: level)
        return buffers.map { buffer in GzipPart(buffer.withUnsafeReadableBytes { deflater.compress($0) }) }
    }

    /// Compresses `buffers` off the caller's actor, on up to `lanes` threads at once (a change
    /// spread over a large feed touches hundreds of blocks, each compressed on its own), each lane
    /// yielding between blocks so that one large feed does not hold threads of the cooperative
    /// pool for its whole compression. The parts come back in the order of `buffers`.
    @concurrent
    static func compressYielding(
        _ buffers: [ByteBuffer],
        level: CompressionLevel = level,
        lanes: Int = compressionLanes
    ) async -> [GzipPart] {
        let lanes = min(lanes, buffers.count / minimumBlocksPerLane)
        guard lanes > 1 else { return await compressInOrder(buffers[...], level: level) }
        return await withTaskGroup(of: (Int, [GzipPart]).self) { group in
            for lane in 0..<lanes {
                // Lane sizes differ by one at most, and every lane has at least one block.
                let slice = buffers[(lane * buffers.count / lanes)..<((lane + 1) * buffers.count / lanes)]
                group.addTask { (lane, await compressInOrder(slice, level: level)) }
            }
            var done = [[GzipPart]](repeating: [], count: lanes)
            for await (lane, parts) in group { done[lane] = parts }
            return done.flatMap { $0 }
        }
    }

    /// How many threads one feed's compression may use: every core.
    static let compressionLanes = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Fewer blocks than this per lane are compressed on one thread (a task costs more than a block).
    static let minimumBlocksPerLane = 4

    @concurrent
    private static func compressInOrder(_ buffers: ArraySlice<ByteBuffer>, level: CompressionLevel) async -> [GzipPart]
    {
        var deflater = BlockDeflater(level: level)
        var parts: [GzipPart] = []
        parts.reserveCapacity(buffers.count)
        for buffer in buffers {
            parts.append(GzipPart(buffer.withUnsafeReadableBytes { deflater.compress($0) }))
            await Task.yield()
        }
        return parts
    }

    /// The whole stream: header, parts, final block and trailer; and its length.
    static func stream(_ parts: [GzipPart]) -> (buffers: [ByteBuffer], length: Int) {
        var buffers = [streamHeader]
        buffers.reserveCapacity(parts.count + 2)
        var checksum = GzipChecksum()
        var length = GzipStream.overheadCount
        for part in parts where part.bytes.readableBytes > 0 {
            buffers.append(part.bytes)
            checksum.append(part.checksum)
            length += part.bytes.readableBytes
        }
        buffers.append(ByteBuffer(bytes: GzipStream.closing(for: checksum)))
        return (buffers, length)
    }
}
