import Foundation
public import Logging

/// A log handler that keeps its metadata as set and gives it to `Inner` only when a line is
/// logged, so that setting metadata costs a dictionary write.
///
/// `StreamLogHandler` renders all of its metadata into a string on every change, and every HTTP
/// request sets two keys (Hummingbird's `hb.request.id`, Almanac's `request_id`), logged or not:
/// about 2.5 % of the server's time answering 304s (README, "Full render, the 304 path and
/// remembered API keys"). The lines written are the same: this handler merges its metadata, the
/// metadata provider's and the line's (in that order of precedence, as `StreamLogHandler` does)
/// and hands `Inner` the result as the line's own metadata, with `Inner`'s own metadata and
/// provider left empty.
public struct DeferredMetadataLogHandler<Inner: LogHandler>: LogHandler {
    private var inner: Inner
    public var metadata: Logger.Metadata
    public var metadataProvider: Logger.MetadataProvider?

    public init(_ inner: Inner) {
        var inner = inner
        metadata = inner.metadata
        metadataProvider = inner.metadataProvider
        inner.metadata = [:]
        inner.metadataProvider = nil
        self.inner = inner
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, provided in provided }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, explicit in explicit }
        }
        var event = event
        event.metadata = merged.isEmpty ? nil : merged
        inner.log(event: event)
    }
}

extension Logger {
    /// A logger writing to standard error as swift-log's default handler does, with metadata kept
    /// as set until a line is written (`DeferredMetadataLogHandler`); `LOG_LEVEL` sets its level
    /// (`info` when unset or not a level).
    public static func almanac(_ label: String = "almanac", defaultLevel: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label) { label in
            DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
        }
        logger.logLevel = Self.levelFromEnvironment ?? defaultLevel
        return logger
    }

    static var levelFromEnvironment: Logger.Level? {
        ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
    }
}
