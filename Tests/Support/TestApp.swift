public import API
import EventStore
import Foundation
public import HTTPTypes
import Hummingbird
public import HummingbirdTesting
public import Logging
import NIOCore
import PostgresNIO
import Runtime

/// The API on a fresh database, driven through HummingbirdTesting.
public struct TestApp: Sendable {
    public let services: AlmanacServices
    public let client: any TestClientProtocol
    /// The running calendar-change listener's last barrier; nil when no listener runs.
    let lastBarrier: (@Sendable () -> String?)?
    let cacheStatistics: @Sendable () async -> FeedCacheStatistics

    /// The feed cache's counters and size.
    public func feedCacheStatistics() async -> FeedCacheStatistics { await cacheStatistics() }

    public static func run<Result: Sendable>(
        auth: AuthMode = .apiKey,
        adminToken: String? = "admin-secret",
        poolSize: Int = 8,
        feedCacheBytes: Int = 64 << 20,
        feedGzipLevel: Int = 6,
        listening: Bool = false,
        logger: Logger? = nil,
        _ body: @Sendable (TestApp) async throws -> Result
    ) async throws -> Result {
        try await TestDatabase.withRuntime(poolSize: poolSize) { runtime in
            let services = runtime.services
            let built = try await runtime.api(
                APIConfiguration(
                    auth: auth,
                    adminToken: adminToken,
                    feedCacheBytes: feedCacheBytes,
                    feedGzipLevel: feedGzipLevel,
                    requestTimeout: .seconds(120)  // loaded test machines queue writes for long
                )
            )
            let app = Application(router: built.responder, logger: logger ?? TestDatabase.logger)
            let statistics = built.feedCacheStatistics
            guard listening else {
                return try await app.test(.router) { client in
                    try await body(
                        TestApp(services: services, client: client, lastBarrier: nil, cacheStatistics: statistics)
                    )
                }
            }
            let (isListening, lastBarrier) = (built.isListening, built.lastBarrier)
            return try await AlmanacRuntime.withRunning(built.services, logger: TestDatabase.logger) {
                // Requests may rely on the listener: wait until it is connected.
                try await poll("the calendar-change listener connects") { isListening() }
                return try await app.test(.router) { client in
                    try await body(
                        TestApp(
                            services: services,
                            client: client,
                            lastBarrier: lastBarrier,
                            cacheStatistics: statistics
                        )
                    )
                }
            }
        }
    }

    /// Waits until the running calendar-change listener has heard everything committed so far
    /// (no-op without a listener).
    public func sync() async throws {
        guard let lastBarrier else { return }
        let barrier = "barrier:\(UUID().uuidString)"
        try await services.store.client.query(
            "SELECT pg_notify(\(Channels.calendars), \(barrier))",
            logger: TestDatabase.logger
        )
        try await poll("the listener hears \(barrier)") { lastBarrier() == barrier }
    }

    /// Creates a user and returns the header value that authenticates as them.
    public func user(_ name: String) async throws -> (id: Int64, authorization: String) {
        let created = try await services.users.create(name: name)
        return (created.user.id, "Bearer \(created.apiKey)")
    }

    /// Sends a request and returns status, headers and body.
    public func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        auth: String? = nil,
        json: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let auth { headers[.authorization] = auth }
        // As a client on this machine sends it (the `--auth none` guard checks it).
        if headers[HTTPField.Name("Host")!] == nil { headers[HTTPField.Name("Host")!] = "localhost:6400" }
        if json != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.execute(
            uri: uri,
            method: method,
            headers: headers,
            body: json.map { ByteBuffer(string: $0) }
        ) { $0 }
    }
}

extension TestResponse {
    /// The body as text.
    public var text: String { String(buffer: body) }

    /// The body parsed as JSON.
    public func json() throws -> Any {
        try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    /// The body as a JSON object.
    public func object() throws -> [String: Any] {
        guard let object = try json() as? [String: Any] else { throw NotAnObject(text: text) }
        return object
    }

    /// The `error` message of a JSON error body.
    public var errorMessage: String? { (try? object())?["error"] as? String }
}

public struct NotAnObject: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "response body is not a JSON object: \(text)" }
}
