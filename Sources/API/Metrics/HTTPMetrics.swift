import Dispatch
import HTTPTypes
public import Hummingbird
import Metrics
import Synchronization

/// The labels of the HTTP series, bounded whatever clients send: the route is Hummingbird's
/// matched route template (never the raw path, which carries feed tokens and ids), the method
/// one of the methods the API knows, the status a number.
public enum HTTPMetricLabels {
    /// The route label of a request: the template the router matched (`/feeds/{token}.ics`),
    /// or `unmatched` when none did (Hummingbird then reports `NotFound`, or nothing at all).
    public static func route(endpointPath: String?) -> String {
        guard let path = endpointPath, !path.isEmpty, path != "NotFound", path != "Unknown" else {
            return "unmatched"
        }
        return path.hasPrefix("/") ? path : "/" + path
    }

    /// The method label: a known method, or `other` (clients may send any token as a method).
    public static func method(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .get, .head, .post, .put, .patch, .delete, .options: method.rawValue
        default: "other"
        }
    }

    /// The status label: the three-digit code.
    public static func status(_ status: HTTPResponse.Status) -> String {
        String(status.code)
    }
}

/// Counts every request and times it until its response (head and body) is ready to be
/// written: `almanac_http_requests_total` and `almanac_http_request_duration_seconds`, by route
/// template, method and status. The outermost middleware, so it sees the status the error
/// mapping chose; the body of an answer is written after (a slow client does not count).
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Where a finished request goes (the swift-metrics series; a test's recorder).
    var record: @Sendable (HTTPRequestSample) -> Void = HTTPRequestSeries().emit

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let response = try await next(request, context)
            record(request, context: context, status: response.status, started: started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(request, context: context, status: status, started: started)
            throw error
        }
    }

    private func record(_ request: Request, context: Context, status: HTTPResponse.Status, started: UInt64) {
        record(
            HTTPRequestSample(
                route: HTTPMetricLabels.route(endpointPath: context.endpointPath),
                method: HTTPMetricLabels.method(request.method),
                status: HTTPMetricLabels.status(status),
                nanoseconds: DispatchTime.now().uptimeNanoseconds - started
            )
        )
    }
}

/// One finished request, labelled.
struct HTTPRequestSample: Sendable, Hashable {
    var route: String
    var method: String
    var status: String
    var nanoseconds: UInt64
}

/// `almanac_http_requests_total` and `almanac_http_request_duration_seconds`, one counter and
/// one timer per label set, made once and kept: creating them per request (an array of
/// dimensions, two objects and the backend's registry lookup under its lock) cost a conditional
/// feed poll about a tenth of its time. The label sets are bounded (route templates, known
/// methods, status codes), so is what is kept. The handlers come from the metrics backend
/// bootstrapped when a set is first seen.
final class HTTPRequestSeries: Sendable {
    private struct Labels: Hashable {
        var route: String
        var method: String
        var status: String
    }

    private let series = Mutex<[Labels: (Counter, Metrics.Timer)]>([:])

    /// Counts and times the request.
    func emit(_ sample: HTTPRequestSample) {
        let labels = Labels(route: sample.route, method: sample.method, status: sample.status)
        let (counter, timer) = series.withLock { series in
            if let known = series[labels] { return known }
            let dimensions = [("route", sample.route), ("method", sample.method), ("status", sample.status)]
            let made = (
                Counter(label: "almanac_http_requests_total", dimensions: dimensions),
                Metrics.Timer(label: "almanac_http_request_duration_seconds", dimensions: dimensions)
            )
            series[labels] = made
            return made
        }
        counter.increment()
        timer.recordNanoseconds(sample.nanoseconds)
    }
}
