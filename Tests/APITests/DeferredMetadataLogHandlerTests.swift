import Logging
import Runtime
import Synchronization
import Testing

/// The handler `almanac serve` logs through writes exactly what swift-log's `StreamLogHandler`
/// writes (timestamps aside), whatever the metadata's sources.
@Suite("Log lines with metadata kept until written")
struct DeferredMetadataLogHandlerTests {
    final class Lines: TextOutputStream, Sendable {
        private let lines = Mutex<[String]>([])
        func write(_ string: String) { lines.withLock { $0.append(string) } }
        /// Each line without its timestamp (the first field).
        var withoutTimestamps: [String] {
            lines.withLock { $0.map { String($0.drop { $0 != " " }) } }
        }
    }

    struct Failure: Error {}

    /// Runs the same calls on a plain `StreamLogHandler` and on the deferred one.
    static func both(_ calls: (inout Logger) -> Void) -> (plain: [String], deferred: [String]) {
        let provider = Logger.MetadataProvider { ["provided": "p", "shared": "from-provider"] }
        let plainLines = Lines()
        let deferredLines = Lines()
        var plain = Logger(label: "test") {
            StreamLogHandler(label: $0, stream: plainLines, metadataProvider: provider)
        }
        var deferred = Logger(label: "test") {
            DeferredMetadataLogHandler(StreamLogHandler(label: $0, stream: deferredLines, metadataProvider: provider))
        }
        plain.logLevel = .debug
        deferred.logLevel = .debug
        calls(&plain)
        calls(&deferred)
        return (plainLines.withoutTimestamps, deferredLines.withoutTimestamps)
    }

    @Test func theLinesAreTheSame() {
        let (plain, deferred) = Self.both { logger in
            logger.info("no metadata of its own")
            logger[metadataKey: "request_id"] = "r-1"
            logger[metadataKey: "shared"] = "from-logger"
            logger.info("request", metadata: ["status": "200", "method": "GET"])
            logger.warning("explicit wins", metadata: ["shared": "explicit", "request_id": "r-2"])
            logger[metadataKey: "request_id"] = nil
            logger.error("with an error", error: Failure())
            logger.debug("nested", metadata: ["list": ["a", "b"], "dict": ["k": "v"]])
            logger.trace("below the level: not written")
        }
        #expect(plain.count == 5)
        #expect(deferred == plain)
    }

    @Test func metadataReadsBackAsSetAndTheLevelPassesThrough() {
        var logger = Logger(label: "test") {
            DeferredMetadataLogHandler(StreamLogHandler(label: $0, stream: Lines(), metadataProvider: nil))
        }
        logger[metadataKey: "a"] = "1"
        #expect(logger[metadataKey: "a"] == "1")
        logger.logLevel = .critical
        #expect(logger.logLevel == .critical)
        #expect(logger.handler.metadata == ["a": "1"])
    }
}
