import CRdKafka
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// The only type that calls librdkafka; nothing outside it sees a pointer.
///
/// Thread safety: librdkafka handles are thread-safe. Non-blocking calls (produce, wake-up) run on the
/// caller's thread while holding `liveness`, so they never race `destroy`. Blocking calls (poll,
/// consumer poll, flush, commit, close, destroy) run one at a time on the client's own thread, never
/// on Swift's cooperative pool; librdkafka's callbacks therefore also fire on that thread.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind {
        case producer
        case consumer
        /// Hosts a mock cluster with this many brokers; no thread, no callbacks besides logging.
        case mockCluster(brokers: Int)
    }

    /// What librdkafka's callbacks report; raised on the client's thread, inside poll, flush or close.
    enum Event: Sendable {
        case delivered(batchID: UInt64, error: KafkaError?)
        case assigned([TopicPartition])
        case revoked([TopicPartition])
    }

    /// Reached from C callbacks through librdkafka's opaque pointer; retained until `rd_kafka_destroy`.
    final class CallbackContext: Sendable {
        let logger: Logger
        let onEvent: @Sendable (Event) -> Void
        /// Offset commits waiting for the coordinator's answer (consumer only).
        let commits = PendingCommits()
        /// Whether the consumer keeps its partitions paused (back-pressure); read and written on
        /// the client's thread only (by `consumerPoll` and the rebalance callback).
        let paused = NIOLockedValueBox(false)

        init(logger: Logger, onEvent: @escaping @Sendable (Event) -> Void) {
            self.logger = logger
            self.onEvent = onEvent
        }
    }

    let logger: Logger
    let handle: OpaquePointer
    /// The queue a blocking poll waits on; yielding it wakes the poll up early.
    let pollQueue: OpaquePointer?
    let mockCluster: OpaquePointer?
    private let context: Unmanaged<CallbackContext>
    /// The same context, held strongly: usable after `rd_kafka_destroy` released librdkafka's reference.
    let callbackContext: CallbackContext
    private let thread: NIOThreadPool
    /// Whether the handle and this client's reference to `pollQueue` are still alive.
    private struct Liveness {
        /// `true` until the handle is destroyed.
        var alive = true
        /// `true` once a consumer has started closing (its reference to `pollQueue` is released
        /// then) or the handle is destroyed: from then on only the close uses the handle (a commit
        /// would need the released queue; a lag query would wait behind a close that may go on in
        /// the background), so every other call fails with `.shutDown`.
        var closing = false

        /// Whether calls other than the close may use the handle.
        var acceptsCalls: Bool { self.alive && !self.closing }
    }

    private let liveness = NIOLockedValueBox(Liveness())

    init(
        kind: Kind,
        settings: [String: String],
        logger: Logger,
        onEvent: @escaping @Sendable (Event) -> Void = { _ in }
    ) throws {
        let conf = try Self.makeConf(settings)
        let callbackContext = CallbackContext(logger: logger, onEvent: onEvent)
        let context = Unmanaged.passRetained(callbackContext)
        Self.installCallbacks(on: conf, kind: kind, context: context)

        var errorText = [CChar](repeating: 0, count: 512)
        let type = if case .consumer = kind { RD_KAFKA_CONSUMER } else { RD_KAFKA_PRODUCER }
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            context.release()
            throw KafkaError(code: .clientCreation, message: Self.string(errorText))
        }

        switch kind {
        case .producer:
            self.pollQueue = rd_kafka_queue_get_main(handle)
            self.mockCluster = nil
        case .consumer:
            // Serve logs, errors and rebalances from rd_kafka_consumer_poll, like messages.
            rd_kafka_poll_set_consumer(handle)
            self.pollQueue = rd_kafka_queue_get_consumer(handle)
            self.mockCluster = nil
        case .mockCluster(let brokers):
            guard let cluster = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
                rd_kafka_destroy(handle)
                context.release()
                throw KafkaError(code: .clientCreation, message: "rd_kafka_mock_cluster_new failed")
            }
            self.pollQueue = nil
            self.mockCluster = cluster
        }
        self.handle = handle
        self.context = context
        self.callbackContext = callbackContext
        self.logger = logger
        self.thread = NIOThreadPool(numberOfThreads: 1)
        if case .mockCluster = kind {} else { self.thread.start() }
    }

    deinit {
        guard self.liveness.withLockedValue({ $0.alive }) else { return }
        // `close()` never ran (e.g. a service that was never started). Destroying a consumer blocks,
        // so hand the handles to the client's thread, which then stops itself.
        let handles = Handles(
            handle: self.handle,
            pollQueue: self.pollQueue,
            mockCluster: self.mockCluster,
            context: self.context
        )
        guard self.mockCluster == nil else {
            handles.destroy()
            return
        }
        let thread = self.thread
        thread.submit { _ in
            handles.destroy()
            thread.shutdownGracefully { _ in }
        }
    }

    /// The C handles, moved out of a client that is being deinitialized.
    private struct Handles: @unchecked Sendable {
        let handle: OpaquePointer
        let pollQueue: OpaquePointer?
        let mockCluster: OpaquePointer?
        let context: Unmanaged<CallbackContext>

        func destroy(flags: Int32 = 0) {
            if let pollQueue { rd_kafka_queue_destroy(pollQueue) }
            if let mockCluster { rd_kafka_mock_cluster_destroy(mockCluster) }
            rd_kafka_destroy_flags(self.handle, flags)
            // Callbacks can fire until rd_kafka_destroy returns; only now is the context unreachable.
            self.context.release()
        }
    }

    // MARK: Lifecycle

    /// How a client's `close` ended.
    enum CloseOutcome: Sendable, Equatable {
        /// A producer, or a consumer that left its group within the timeout: destroyed.
        case closed
        /// A consumer still leaving its group when the timeout was up: `close` returned, and the
        /// client's thread goes on serving the close until librdkafka is done, then destroys it.
        case stillClosingInBackground
    }

    /// Closes the consumer (if any; waiting at most `consumerCloseTimeout` for it to leave its
    /// group), destroys the handle on the client's thread, then stops the thread.
    ///
    /// Bounded for the caller: when a consumer has not left its group in time, the rest of its
    /// close (and the destroy, which would wait for the same thing) goes on in the background on
    /// the client's thread, and `close` returns.
    @discardableResult
    func close(consumerCloseTimeout: Duration = .seconds(10)) async -> CloseOutcome {
        var outcome = CloseOutcome.closed
        do {
            let unfinished = try await self.blocking { handle -> ConsumerClose? in
                guard self.isConsumer else {
                    self.destroyHandles()
                    return nil
                }
                guard let closing = self.startClosing(handle) else {
                    // Already closed, or the close could not start: destroying must not close.
                    self.destroyHandles(flags: RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
                    return nil
                }
                guard closing.serve(until: .now + consumerCloseTimeout) else { return closing }
                self.finish(closing)
                return nil
            }
            if let unfinished {
                outcome = .stillClosingInBackground
                self.logger.error(
                    "consumer close timed out: it goes on in the background; the consumer is destroyed once it has left its group",
                    metadata: ["timeout": "\(consumerCloseTimeout)"]
                )
                let thread = self.thread
                thread.submit { state in
                    guard case .active = state else {
                        // Not on the client's thread (it is shutting down): blocking here could
                        // block a caller's thread without a bound, so the consumer is left as is.
                        self.logger.error("consumer close abandoned: the client's thread is shutting down")
                        return
                    }
                    _ = unfinished.serve(until: nil)
                    self.finish(unfinished)
                    thread.shutdownGracefully { _ in }
                }
            }
        } catch {
            self.logger.debug("client already closed", metadata: ["error": "\(error)"])
        }
        // Nothing waits for an answer any more (one arriving during a background close finds no waiter).
        self.callbackContext.commits.failAll(
            KafkaError(code: .shutDown, message: "the Kafka client has shut down")
        )
        if outcome == .closed { try? await self.thread.shutdownGracefully() }
        return outcome
    }

    /// Whether the handle has been destroyed.
    var isDestroyed: Bool { !self.liveness.withLockedValue { $0.alive } }

    /// Destroys the mock cluster and its host handle on the calling thread (both return quickly).
    func destroyNow() {
        if self.liveness.withLockedValue({ $0.alive }) {
            self.destroyHandles()
        }
    }

    private var isConsumer: Bool { rd_kafka_type(self.handle) == RD_KAFKA_CONSUMER }

    /// Starts leaving the group with `rd_kafka_consumer_close_queue`; nil when the consumer is
    /// already closed or the close could not start.
    ///
    /// Not `rd_kafka_consumer_close`, which waits without a bound, and never returned when a
    /// member was stopped in the middle of a backlog it was committing (`KafkaLongRunTests`): the
    /// client held its reference to the consumer queue, which librdkafka requires to be released
    /// before the close.
    private func startClosing(_ handle: OpaquePointer) -> ConsumerClose? {
        guard rd_kafka_consumer_closed(handle) == 0 else { return nil }
        self.beginClosing()
        guard let queue = rd_kafka_queue_new(handle) else {
            self.logger.warning("consumer close skipped: no queue for it")
            return nil
        }
        if let error = rd_kafka_consumer_close_queue(handle, queue) {
            self.logger.warning(
                "consumer close failed",
                metadata: ["error": "\(String(cString: rd_kafka_error_string(error)))"]
            )
            rd_kafka_error_destroy(error)
            rd_kafka_queue_destroy(queue)
            return nil
        }
        return ConsumerClose(handle: handle, queue: queue)
    }

    /// Serves the events queued as the close completed (the last commit answers come with it),
    /// releases the close's queue, then destroys the handle without closing a second time.
    private func finish(_ closing: ConsumerClose) {
        while closing.serveOne(waitingMilliseconds: 0) {}
        rd_kafka_queue_destroy(closing.queue)
        self.destroyHandles(flags: RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE)
    }

    /// Marks the client closing (see `Liveness.closing`) and releases its reference to the
    /// consumer queue; `wakeUp` does nothing after. On the client's thread.
    private func beginClosing() {
        let held = self.liveness.withLockedValue { liveness in
            defer { liveness.closing = true }
            return !liveness.closing
        }
        if held, let pollQueue { rd_kafka_queue_destroy(pollQueue) }
    }

    private func destroyHandles(flags: Int32 = 0) {
        let (wasAlive, queueHeld) = self.liveness.withLockedValue { liveness in
            defer { liveness = Liveness(alive: false, closing: true) }
            return (liveness.alive, !liveness.closing)
        }
        guard wasAlive else { return }
        Handles(
            handle: self.handle,
            pollQueue: queueHeld ? self.pollQueue : nil,
            mockCluster: self.mockCluster,
            context: self.context
        )
        .destroy(flags: flags)
    }

    /// Wakes a poll blocked on the client's thread so queued work (a commit, a shutdown) runs now.
    func wakeUp() {
        self.liveness.withLockedValue { liveness in
            guard liveness.acceptsCalls, let pollQueue = self.pollQueue else { return }
            rd_kafka_queue_yield(pollQueue)
        }
    }

    // MARK: Running C calls

    /// Runs a non-blocking call on the caller's thread; throws `.shutDown` once the handle is destroyed.
    func nonBlocking<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try self.liveness.withLockedValue { liveness in
            guard liveness.acceptsCalls else {
                throw KafkaError(code: .shutDown, message: "the Kafka client has shut down")
            }
            return try body(self.handle)
        }
    }

    /// Runs `body` on the client's own thread, after the calls queued before it, without waiting
    /// for it; `body` receives `nil` instead of the handle once the client has shut down.
    func enqueue(wakingUpPoll: Bool = false, _ body: @escaping @Sendable (OpaquePointer?) -> Void) {
        // Checked before queueing too: behind a close going on in the background, it would wait.
        guard self.liveness.withLockedValue({ $0.acceptsCalls }) else {
            body(nil)
            return
        }
        self.thread.submit { state in
            guard case .active = state, self.liveness.withLockedValue({ $0.acceptsCalls }) else {
                body(nil)
                return
            }
            body(self.handle)
        }
        if wakingUpPoll { self.wakeUp() }
    }

    /// Runs a blocking call on the client's own thread and resumes the caller with its result.
    ///
    /// Not cancellable on purpose: a close or destroy must run even when the calling task is cancelled.
    /// With `wakingUpPoll`, a poll blocked on the thread returns early so that `body` runs right away.
    func blocking<T: Sendable>(
        wakingUpPoll: Bool = false,
        _ body: @escaping @Sendable (OpaquePointer) throws -> T
    ) async throws -> T {
        // Checked before queueing too: behind a close going on in the background, it would wait.
        guard self.liveness.withLockedValue({ $0.acceptsCalls }) else {
            throw KafkaError(code: .shutDown, message: "the Kafka client has shut down")
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            self.thread.submit { state in
                guard case .active = state, self.liveness.withLockedValue({ $0.acceptsCalls }) else {
                    continuation.resume(
                        throwing: KafkaError(code: .shutDown, message: "the Kafka client has shut down")
                    )
                    return
                }
                // No lock held here: only this thread destroys the handle.
                continuation.resume(with: Result { try body(self.handle) })
            }
            if wakingUpPoll { self.wakeUp() }
        }
    }

    // MARK: Configuration

    private static func makeConf(_ settings: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .clientCreation, message: "rd_kafka_conf_new failed")
        }
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError(code: .invalidConfiguration, message: "\(key): \(Self.string(errorText))")
            }
        }
        return conf
    }

    private static func installCallbacks(on conf: OpaquePointer, kind: Kind, context: Unmanaged<CallbackContext>) {
        rd_kafka_conf_set_opaque(conf, context.toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, text in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            context.logger.log(
                level: RDKafkaClient.logLevel(syslog: level),
                "\(text.map { String(cString: $0) } ?? "")",
                metadata: ["rdkafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
            )
        }
        rd_kafka_conf_set_error_cb(conf) { _, code, reason, opaque in
            guard let opaque else { return }
            let context = Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
            // librdkafka recovers from these by itself (reconnects, retries); they are worth a warning only.
            context.logger.warning(
                "librdkafka error",
                metadata: [
                    "error": "\(RDKafkaClient.name(of: rd_kafka_resp_err_t(rawValue: code)))",
                    "reason": "\(reason.map { String(cString: $0) } ?? "")",
                ]
            )
        }
        switch kind {
        case .producer:
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let message, let opaque else { return }
                RDKafkaClient.handleDeliveryReport(message.pointee, opaque: opaque)
            }
        case .consumer:
            rd_kafka_conf_set_rebalance_cb(conf) { handle, code, partitions, opaque in
                guard let handle, let opaque else { return }
                RDKafkaClient.handleRebalance(handle: handle, code: code, partitions: partitions, opaque: opaque)
            }
        case .mockCluster:
            break
        }
    }

    // MARK: Errors

    static func name(of code: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2name(code))
    }

    static func error(_ code: KafkaError.Code, _ rdCode: rd_kafka_resp_err_t, _ message: String? = nil) -> KafkaError {
        KafkaError(
            code: code,
            message: message ?? String(cString: rd_kafka_err2str(rdCode)),
            rdKafkaCode: rdCode.rawValue,
            rdKafkaName: Self.name(of: rdCode)
        )
    }

    /// Converts and frees an `rd_kafka_error_t`.
    static func consume(_ error: OpaquePointer, as code: KafkaError.Code) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        return Self.error(code, rd_kafka_error_code(error), String(cString: rd_kafka_error_string(error)))
    }

    static func string(_ buffer: [CChar]) -> String {
        buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static func context(_ opaque: UnsafeMutableRawPointer) -> CallbackContext {
        Unmanaged<CallbackContext>.fromOpaque(opaque).takeUnretainedValue()
    }

    private static func logLevel(syslog level: Int32) -> Logger.Level {
        switch level {
        case ...3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    }
}
