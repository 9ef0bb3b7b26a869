import HTTPTypes
import Hummingbird
import Tracing

/// One server span per request (swift-distributed-tracing; a no-op unless the executable
/// bootstrapped a tracer), the parent of the spans of the work the request does (an append).
///
/// Not Hummingbird's `TracingMiddleware`: that one records `url.path` and `url.query`, and a
/// feed's path holds its secret token. Here the span is named and labelled like the metrics:
/// `"<method> <route template>"`, attributes `http.request.method`, `http.route`,
/// `http.response.status_code`, `almanac.request_id` (the request's `X-Request-Id`, as
/// `RequestLog` accepted or generated it) and `enduser.id` once authenticated; never the path,
/// the query or a header. A caller's `traceparent` header (W3C, with the OpenTelemetry tracer)
/// makes the span its child. The span ends when the response head is ready (a streamed body
/// continues after), like the request's log line.
struct RequestTracing: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request,
        context: AppRequestContext,
        next: (Request, AppRequestContext) async throws -> Response
    ) async throws -> Response {
        // Without a tracer (the default) there is no span to start or context to bind: a
        // conditional feed poll answered from memory should not pay for them.
        if InstrumentationSystem.tracer is NoOpTracer { return try await next(request, context) }
        var parent = InstrumentationContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HeaderExtractor())
        let method = HTTPMetricLabels.method(request.method)
        let span = startSpan("\(method) unmatched", context: parent, ofKind: .server)
        defer { span.end() }
        guard span.isRecording else {
            return try await InstrumentationContext.$current.withValue(span.context) {
                try await next(request, context)
            }
        }
        span.attributes["http.request.method"] = method
        if let id = context.requestRecord?.requestID { span.attributes["almanac.request_id"] = id }
        let status: HTTPResponse.Status
        do {
            let response = try await InstrumentationContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            status = response.status
            finish(span, method: method, context: context, status: status)
            return response
        } catch {
            status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            finish(span, method: method, context: context, status: status)
            span.recordError(error)
            throw error
        }
    }

    private func finish(_ span: any Span, method: String, context: AppRequestContext, status: HTTPResponse.Status) {
        let route = HTTPMetricLabels.route(endpointPath: context.endpointPath)
        span.operationName = "\(method) \(route)"
        span.attributes["http.route"] = route
        span.attributes["http.response.status_code"] = Int(status.code)
        if let user = context.user?.id { span.attributes["enduser.id"] = String(user) }
        if status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
    }

    private struct HeaderExtractor: Extractor {
        func extract(key: String, from headers: HTTPFields) -> String? {
            guard let name = HTTPField.Name(key) else { return nil }
            return headers[name]
        }
    }
}
