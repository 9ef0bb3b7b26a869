import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

@testable import API

/// The HTTP series' labels stay bounded whatever clients send: route templates (never raw paths,
/// which carry feed tokens and ids), known methods, status codes.
@Suite("HTTP metric labels")
struct HTTPMetricsTests {
    @Test func routeLabelIsTheTemplateOrUnmatched() {
        #expect(HTTPMetricLabels.route(endpointPath: "/feeds/{token}.ics") == "/feeds/{token}.ics")
        #expect(HTTPMetricLabels.route(endpointPath: "api/v1/todos/{id}") == "/api/v1/todos/{id}")
        #expect(HTTPMetricLabels.route(endpointPath: nil) == "unmatched")
        #expect(HTTPMetricLabels.route(endpointPath: "") == "unmatched")
        #expect(HTTPMetricLabels.route(endpointPath: "NotFound") == "unmatched")
    }

    @Test func methodLabelIsAKnownMethodOrOther() throws {
        #expect(HTTPMetricLabels.method(.get) == "GET")
        #expect(HTTPMetricLabels.method(.delete) == "DELETE")
        #expect(HTTPMetricLabels.method(try #require(HTTPRequest.Method("BREW"))) == "other")
        #expect(HTTPMetricLabels.method(.connect) == "other")
    }

    /// Through a real router: the middleware sees the matched template, the status an error
    /// becomes, and `unmatched` for a path no route matches.
    @Test func middlewareRecordsTemplatesNotPaths() async throws {
        let samples = Mutex<[HTTPRequestSample]>([])
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: HTTPMetricsMiddleware { sample in samples.withLock { $0.append(sample) } })
        router.add(middleware: ErrorMiddleware())
        router.get("feeds/{token}.ics") { _, _ in Response(status: .ok) }
        router.get("api/v1/todos/{id}") { _, _ -> Response in throw APIError.notFound("todo") }
        router.post("api/v1/todos") { _, _ -> Response in throw Unexpected() }
        let app = Application(router: router)
        try await app.test(.router) { client in
            _ = try await client.execute(uri: "/feeds/cal_SECRETTOKEN.ics", method: .get)
            _ = try await client.execute(uri: "/api/v1/todos/42", method: .get)
            _ = try await client.execute(uri: "/api/v1/todos", method: .post)
            _ = try await client.execute(uri: "/no/such/path/alm_key", method: .get)
            _ = try await client.execute(uri: "/feeds/x.ics", method: try #require(HTTPRequest.Method("BREW")))
        }
        let recorded = samples.withLock { $0 }.map { [$0.route, $0.method, $0.status] }
        #expect(
            recorded == [
                ["/feeds/{token}.ics", "GET", "200"],
                ["/api/v1/todos/{id}", "GET", "404"],
                ["/api/v1/todos", "POST", "500"],
                ["unmatched", "GET", "404"],
                ["unmatched", "other", "404"],
            ]
        )
        #expect(!recorded.joined().joined().contains("SECRET"))
    }

    struct Unexpected: Error {}
}
