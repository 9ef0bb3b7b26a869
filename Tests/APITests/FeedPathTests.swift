import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PropertyBased
import Synchronization
import Testing

@testable import API

@Suite("The feed's path ahead of the router")
struct FeedPathTests {
    @Test func tokenOfTheCanonicalPathOnly() {
        #expect(FeedPath.token(in: "/feeds/cal_AbC-_09.ics") == "cal_AbC-_09")
        // The router matches an empty token too (and the handler answers 404).
        #expect(FeedPath.token(in: "/feeds/.ics") == "")
        #expect(FeedPath.token(in: "/feeds/a.b.ics") == "a.b")
        for other in [
            "", "/", "/feeds", "/feeds/", "/feeds/x", "/feeds/x.ic", "/feeds/x.ICS", "/FEEDS/x.ics", "feeds/x.ics",
            "//feeds/x.ics", "/feeds//x.ics", "/feeds/x.ics/", "/feeds/a/b.ics", "/feeds/a b.ics", "/feeds/é.ics",
            "/feeds/\u{600}.ics", "/feeds/x\u{7F}.ics", "/api/v1/feeds/x.ics",
        ] {
            #expect(FeedPath.token(in: other) == nil, "\(other)")
        }
    }

    @Test func endpointIsTheRoutersTemplate() {
        #expect(FeedPath.endpoint == "/feeds/{token}.ics")
    }

    /// The same handler behind the plain router and behind `FeedFirstRouter`: every path gets
    /// the same status, parameter, endpoint path and metric sample from both, and the canonical
    /// feed path is answered ahead of the router.
    final class Pair: Sendable {
        let plain: RouterResponder<AppRequestContext>
        let fast: FeedFirstRouter.Responder
        let recorder = Recorder()

        final class Recorder: Sendable {
            let samples = Mutex<[[String]]>([])
            let aheadOfRouter = Atomic<Int>(0)
        }

        init() {
            func router(_ recorder: Recorder) -> (Router<AppRequestContext>, any HTTPResponder<AppRequestContext>) {
                let router = Router(context: AppRequestContext.self)
                router.add(
                    middleware: HTTPMetricsMiddleware { sample in
                        recorder.samples.withLock { $0.append([sample.route, sample.method, sample.status]) }
                    }
                )
                router.add(middleware: ErrorMiddleware())
                let echo: @Sendable (Request, AppRequestContext) async throws -> Response = { _, context in
                    guard let token = context.parameters.get("token"), token != "missing" else {
                        throw APIError.notFound("feed")
                    }
                    return Response(
                        status: .ok,
                        body: .init(byteBuffer: .init(string: "\(token) \(context.endpointPath ?? "-")"))
                    )
                }
                router.get(FeedPath.route, use: echo)
                router.head(FeedPath.route, use: echo)
                router.get("api/v1/todos/{id}") { _, context in context.parameters.get("id") ?? "-" }
                return (
                    router, router.middlewares.constructResponder(finalResponder: CallbackResponder(callback: echo))
                )
            }
            let recorder = self.recorder
            plain = router(recorder).0.buildResponder()
            let (fastRouter, feed) = router(recorder)
            fast = FeedFirstRouter(
                router: fastRouter,
                feed: CallbackResponder { request, context in
                    recorder.aheadOfRouter.add(1, ordering: .relaxed)
                    return try await feed.respond(to: request, context: context)
                }
            ).buildResponder()
        }

        /// Status, body and metric sample of `path` through each router.
        func compare(_ method: HTTPRequest.Method, _ path: String) async throws -> (plain: [String], fast: [String]) {
            func run(_ app: some ApplicationProtocol) async throws -> [String] {
                recorder.samples.withLock { $0 = [] }
                let answer = try await app.test(.router) { client in try await client.execute(uri: path, method: method)
                }
                return ["\(answer.status.code)", String(buffer: answer.body)]
                    + recorder.samples.withLock { $0.flatMap { $0 } }
            }
            return (
                try await run(Application(router: Built(responder: plain))),
                try await run(Application(router: Built(responder: fast)))
            )
        }
    }

    struct Built<Responder: HTTPResponder>: HTTPResponderBuilder {
        let responder: Responder
        func buildResponder() -> Responder { responder }
    }

    @Test func sameAnswersAsTheRouter() async throws {
        let pair = Pair()
        for (method, path) in [
            (HTTPRequest.Method.get, "/feeds/cal_x.ics"), (.head, "/feeds/cal_x.ics"), (.get, "/feeds/missing.ics"),
            (.get, "/feeds/.ics"), (.post, "/feeds/cal_x.ics"), (.get, "//feeds/cal_x.ics"),
            (.get, "/feeds/cal_x.ics/"),
            (.get, "/feeds/a/b.ics"), (.get, "/feeds/x.ics?completed=include"), (.get, "/api/v1/todos/7"),
            (.get, "/feeds/%2F.ics"), (.get, "/no/such"),
        ] {
            let (plain, fast) = try await pair.compare(method, path)
            #expect(plain == fast, "\(method) \(path)")
        }
        // GET and HEAD of the canonical path, the missing token, the empty one, the query, `%2F`
        // (the router does not decode it either: the answers above are the same).
        #expect(pair.recorder.aheadOfRouter.load(ordering: .relaxed) == 6)
    }

    @Test func sameAnswersAsTheRouterForAnyPath() async throws {
        let pair = Pair()
        let pieces = [
            "/", "feeds", "FEEDS", ".ics", ".", "x", "cal_A9", "-", "%2F", "é", "\u{301}", "\u{600}", "?q=1", "missing",
        ]
        await propertyCheck(count: 500, input: Gen.bool, Gen.element(of: pieces).array(of: 0...5), Gen.bool) {
            feeds,
            parts,
            ics in
            let path = (feeds ? "/feeds/" : "/") + parts.compactMap { $0 }.joined() + (ics ? ".ics" : "")
            let (plain, fast) = try await pair.compare(.get, path)
            #expect(plain == fast, "\(path)")
        }
        #expect(pair.recorder.aheadOfRouter.load(ordering: .relaxed) > 0)
    }
}
