public import EventStore
public import Foundation
import Gzip
public import Hummingbird
public import ServiceLifecycle

/// Settings of the HTTP API.
public struct APIConfiguration: Sendable {
    public var auth: AuthMode
    /// Bearer token for `POST /api/v1/users`; nil disables the route (403).
    public var adminToken: String?
    /// The externally visible base URL for feed and task links; nil: from the Host header.
    public var publicURL: String?
    /// Byte budget of the in-memory feed cache.
    public var feedCacheBytes: Int
    /// The zlib level (1 fastest ... 9 smallest) of the feed cache's compressed blocks, which
    /// gzip answers are made of. 6, zlib's default, unless set: level 1 compresses a feed in less
    /// than half the time (a bulk change over a large calendar reaches gzip clients sooner) for
    /// about 20 % more bytes. `build` refuses a level outside `feedGzipLevels`.
    public var feedGzipLevel: Int
    /// The levels `feedGzipLevel` may take (zlib's 0, no compression, is not one).
    public static let feedGzipLevels: ClosedRange<Int> = 1...9
    /// The key that seals feed tokens; nil: a key kept in the database itself (development only).
    public var feedTokenKey: FeedTokenKey?
    /// Longest time to produce a response before answering 503 (a database outage).
    public var requestTimeout: Duration
    /// What `GET /api/v1/ready` checks besides the database and its schema.
    public var readiness: ReadinessConfiguration

    public init(
        auth: AuthMode = .apiKey,
        adminToken: String? = nil,
        publicURL: String? = nil,
        feedCacheBytes: Int = 256 << 20,
        feedGzipLevel: Int = 6,
        feedTokenKey: FeedTokenKey? = nil,
        requestTimeout: Duration = .seconds(10),
        readiness: ReadinessConfiguration = ReadinessConfiguration()
    ) {
        self.readiness = readiness
        self.requestTimeout = requestTimeout
        self.auth = auth
        self.adminToken = adminToken
        self.publicURL = publicURL
        self.feedCacheBytes = feedCacheBytes
        self.feedGzipLevel = feedGzipLevel
        self.feedTokenKey = feedTokenKey
    }
}

/// Everything the routes need, wired once.
public struct AlmanacServices: Sendable {
    public let store: EventStore
    public let commands: CommandExecutor
    public let users: UserDirectory
    public let todos: TodoService
    public let jobs: JobQueue

    public init(store: EventStore) {
        self.store = store
        commands = CommandExecutor(
            store: store,
            todos: TodoTable(client: store.client, logger: store.logger, preparedStatements: store.preparedStatements)
        )
        users = UserDirectory(commands: commands)
        todos = TodoService(commands: commands)
        jobs = JobQueue(store: store)
    }
}

/// The HTTP API: routes, middleware and error rendering.
public enum AlmanacAPI {
    /// The router and the services it needs running beside it.
    public struct Built {
        /// What the server runs: the router, with the subscription feed taken ahead of it.
        public var responder: FeedFirstRouter
        /// The routes (what the OpenAPI document describes).
        public var router: Router<AppRequestContext> { responder.router }
        /// The calendar-change listener that lets feed polls be answered from memory.
        public var services: [any Service]
        /// Whether the listener is connected (until then every feed request reads the database).
        public var isListening: @Sendable () -> Bool
        /// The last barrier notification the listener heard: after `barrier:<id>` is NOTIFYed on
        /// `Channels.calendars` and heard, every change committed before it has been applied.
        public var lastBarrier: @Sendable () -> String?
        /// The feed cache's counters and size.
        public var feedCacheStatistics: @Sendable () async -> FeedCacheStatistics
    }

    /// Builds the router and the services it needs beside it.
    public static func build(services: AlmanacServices, configuration: APIConfiguration) async throws -> Built {
        guard APIConfiguration.feedGzipLevels.contains(configuration.feedGzipLevel),
            let gzipLevel = CompressionLevel(rawValue: configuration.feedGzipLevel)
        else {
            throw InvalidConfiguration(
                description: "the feed gzip level must be 1...9, got \(configuration.feedGzipLevel)"
            )
        }
        var defaultUser: AuthenticatedUser?
        if configuration.auth == .none {
            defaultUser = try await services.users.user(named: UserDirectory.defaultUserName)
            if defaultUser == nil {
                defaultUser = try await services.users.create(name: UserDirectory.defaultUserName).user
            }
        }
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestLog())
        router.add(middleware: RequestTracing())
        router.add(middleware: HTTPMetricsMiddleware())
        router.add(middleware: ErrorMiddleware())
        if configuration.auth == .none { router.add(middleware: LoopbackGuard()) }
        let api = router.group("api/v1").add(middleware: RequestDeadline(limit: configuration.requestTimeout))
        api.get("health") { _, _ in Response.json(Array(#"{"status": "ok"}"#.utf8)) }
        Readiness(store: services.store, migrator: try Migrator.bundled(), configuration: configuration.readiness)
            .register(on: api)
        let openAPI = try openAPIDocument()
        api.get("openapi.yaml") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/yaml; charset=utf-8"],
                body: .init(byteBuffer: openAPI)
            )
        }
        UserRoutes(users: services.users, adminToken: configuration.adminToken).register(on: api)
        let authenticated = api.group()
            .add(middleware: AuthMiddleware(mode: configuration.auth, users: services.users, defaultUser: defaultUser))
        TodoRoutes(service: services.todos).register(on: authenticated)
        MeRoutes(commands: services.commands).register(on: authenticated)
        let cache = FeedCache(store: services.store, budgetBytes: configuration.feedCacheBytes, gzipLevel: gzipLevel)
        let lookups = FeedLookups()
        let publicURL = PublicURL(configured: configuration.publicURL)
        let streamer = FeedStreamer(store: services.store)
        let feeds = FeedRoutes(
            tokens: FeedTokens(store: services.store, key: configuration.feedTokenKey),
            cache: cache,
            streamer: streamer,
            lookups: lookups,
            publicURL: publicURL,
            deadline: configuration.requestTimeout
        )
        let feed = feeds.registerPublic(on: router)
        feeds.registerAuthenticated(on: authenticated)
        JobRoutes(queue: services.jobs, cache: cache, streamer: streamer, publicURL: publicURL)
            .register(on: authenticated)
        return Built(
            responder: FeedFirstRouter(router: router, feed: feed),
            services: [FeedChangeListener(store: services.store, lookups: lookups)],
            isListening: { lookups.begin() != nil },
            lastBarrier: { lookups.lastBarrier },
            feedCacheStatistics: { await cache.statistics }
        )
    }

    /// The OpenAPI document, read once when the router is built (never per request).
    static func openAPIDocument() throws -> ByteBuffer {
        guard let url = APIResources.openAPIURL else { throw ResourceMissing(name: "openapi.yaml") }
        return ByteBuffer(bytes: try Data(contentsOf: url))
    }

    /// What the ETag of a gzip feed adds inside the quotes of the identity one at zlib level
    /// `level`: `-gz` at the default level 6, `-gz1` at level 1. Another level gives other bytes
    /// for the same calendar, so a strong tag names it.
    public static func gzipTagSuffix(level: Int) -> String {
        level == Int(GzipPart.level.rawValue) ? "-gz" : "-gz\(level)"
    }

    /// A setting of `APIConfiguration` out of its range.
    public struct InvalidConfiguration: Error, CustomStringConvertible {
        public var description: String
    }

    /// A file that belongs to the build is missing.
    public struct ResourceMissing: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "\(name) is missing from the build's API resources" }
    }
}

/// Files shipped with the API module.
public enum APIResources {
    /// The committed OpenAPI 3.1 document of the whole API.
    public static var openAPIURL: URL? { Bundle.module.url(forResource: "openapi", withExtension: "yaml") }
}
