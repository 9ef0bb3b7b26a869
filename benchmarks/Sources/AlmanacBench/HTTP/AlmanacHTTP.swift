import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The Almanac HTTP contract as the benchmarks drive it, over keep-alive connections.
struct AlmanacHTTP: Sendable {
    let baseURL: String
    let client: HTTPClient
    let timeout = TimeAmount.seconds(300)

    init(baseURL: String) {
        self.baseURL = baseURL
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async throws {
        try await client.shutdown()
    }

    struct Reply: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: ByteBuffer

        var text: String { String(buffer: body) }
        var isSuccess: Bool { (200..<300).contains(status.code) }

        func decode<T: Decodable>(_: T.Type) throws -> T {
            try JSONDecoder().decode(T.self, from: Data(body.readableBytesView))
        }
    }

    func send(
        _ method: HTTPMethod,
        _ pathOrURL: String,
        auth: String? = nil,
        json: (any Encodable)? = nil,
        headers extra: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: pathOrURL.hasPrefix("http") ? pathOrURL : baseURL + pathOrURL)
        request.method = method
        if let auth { request.headers.add(name: "Authorization", value: "Bearer \(auth)") }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(json)))
        }
        let response = try await client.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 1 << 30)
        return Reply(status: response.status, headers: response.headers, body: body)
    }

    func health() async throws -> Bool {
        try await send(.GET, "/api/v1/health").status == .ok
    }

    /// Fails with the server's answer unless it is a 2xx.
    @discardableResult
    func expectSuccess(_ reply: Reply, _ what: String) throws -> Reply {
        guard reply.isSuccess else { throw BenchError("\(what): HTTP \(reply.status.code) \(reply.text.prefix(300))") }
        return reply
    }

    struct NewTodo: Encodable, Sendable {
        var title: String
        var description: String
        var deadline_at: String?
    }

    struct TitlePatch: Encodable, Sendable {
        var title: String
    }

    struct Completion: Encodable, Sendable {
        var ids: [Int]
    }

    struct FeedLinks: Decodable, Sendable {
        var https: String
    }

    struct Task: Decodable, Sendable {
        var task_id: String
        var task_url: String
    }

    struct TaskStatus: Decodable, Sendable {
        var task_status: String
        var duration_ms: Double?
        var matches_incremental: Bool?
        var error: String?
    }

    /// The secret feed URL of the caller, on this server.
    func feedURL(auth: String) async throws -> String {
        let links = try expectSuccess(try await send(.GET, "/api/v1/feed", auth: auth), "GET /api/v1/feed")
            .decode(FeedLinks.self)
        guard let path = links.https.range(of: "/feeds/") else {
            throw BenchError("unexpected feed URL \(links.https)")
        }
        return baseURL + links.https[path.lowerBound...]
    }

    /// A conditional GET of a feed; with `gzip`, as a client that accepts the gzip representation
    /// (the body stays compressed: the clock stops when its bytes have arrived).
    func feed(_ url: String, ifNoneMatch etag: String?, gzip: Bool = false) async throws -> Reply {
        var headers = etag.map { [("If-None-Match", $0)] } ?? []
        if gzip { headers.append(("Accept-Encoding", "gzip")) }
        return try await send(.GET, url, headers: headers)
    }
}
