import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// One structured line per request, at info level, and the request id on every answer.
///
/// The id comes from the `X-Request-Id` request header when it is 1 to 128 visible ASCII
/// characters (0x21–0x7E), else it is generated (a UUID); it is sent back in `X-Request-Id` on
/// every response, errors included, and added as `request_id` to the metadata of every log line
/// of the request (not set when the logger's level lets none of a request's lines through:
/// above `error`). The line (message `request`) carries the metadata `method`, `route` (the route
/// template, e.g. `/feeds/{token}.ics`: never the path, which holds a feed's secret token;
/// `-` when no route matched), `status`, `duration_ms` (until the response head is ready; a
/// streamed body continues after), `user_id` (when authenticated) and `request_id`. Neither
/// headers nor query strings are logged, so API keys and tokens never are.
struct RequestLog: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request,
        context: AppRequestContext,
        next: (Request, AppRequestContext) async throws -> Response
    ) async throws -> Response {
        let id = RequestID.accepted(request.headers[RequestID.field]) ?? RequestID.generate()
        var context = context
        // A request logs at `error` at most: with a higher level (LOG_LEVEL=critical) no line of it
        // is written, and the id is not set on the logger at all.
        if context.logger.logLevel <= .error {
            context.logger[metadataKey: "request_id"] = "\(id)"
        }
        let record = RequestRecord(requestID: id)
        context.requestRecord = record
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            response = try APIError(.internalServerError, "internal error").response(from: request, context: context)
        }
        response.headers[RequestID.field] = id
        guard context.logger.logLevel <= .info else { return response }
        let elapsed = (ContinuousClock.now - start).components
        let milliseconds = Double(elapsed.seconds) * 1_000 + Double(elapsed.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)",
            "route": "\(context.endpointPath ?? "-")",
            "status": "\(response.status.code)",
            "duration_ms": "\(String(format: "%.1f", milliseconds))",
        ]
        if let user = record.userID { metadata["user_id"] = "\(user)" }
        context.logger.info("request", metadata: metadata)
        return response
    }
}

/// The `X-Request-Id` header: accepted when well-formed, else generated.
enum RequestID {
    static let field = HTTPField.Name("X-Request-Id")!
    static let maxLength = 128

    /// `value` when it is 1…128 visible ASCII characters; nil otherwise.
    static func accepted(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= maxLength,
            value.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
        else { return nil }
        return value
    }

    /// A version 4 UUID in lower case, e.g. `0f5c2a9e-4b1d-4c3e-9a7f-2d6b8e1c0a53`: a counter
    /// and two random keys drawn once per process, each mixed (SplitMix64's finaliser, a
    /// bijection) into one half: two ids of a process collide only if both halves agree in all
    /// 122 bits left after the version and variant (negligible), and ids of different processes
    /// are unrelated (the keys). Not a secret, and predictable from one id: a client may send any
    /// id it likes.
    ///
    /// Written here rather than `UUID().uuidString.lowercased()`: Foundation's formats through an
    /// `NSString` and lowercases a copy, and every request pays it (about a tenth of a 304 poll's
    /// cost in the feed benchmark); and not from `SystemRandomNumberGenerator`, which asks the
    /// kernel (`getrandom`) twice per request.
    static func generate() -> String {
        let count = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        // Version 4 in the high nibble of byte 6, variant 10 in the top bits of byte 8.
        let high = mix(count &+ keys.high) & 0xFFFF_FFFF_FFFF_0FFF | 0x0000_0000_0000_4000
        let low = mix(count ^ keys.low) & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var index = 0
            func put(_ value: UInt64, nibbles: ClosedRange<Int>) {
                for nibble in nibbles.reversed() {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = digits.utf8Start[Int(value >> UInt64(nibble * 4) & 0xF)]
                    index += 1
                }
            }
            put(high, nibbles: 0...15)
            put(low, nibbles: 0...15)
            return index
        }
    }

    private static let keys: (high: UInt64, low: UInt64) = {
        var random = SystemRandomNumberGenerator()
        return (random.next(), random.next())
    }()

    private static let counter = Atomic<UInt64>(0)

    /// SplitMix64's output function: a bijection of 64-bit values that spreads every input bit.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// What the inner layers learn about a request for its log line (the authenticated user), and
/// its id for the request's span.
final class RequestRecord: Sendable {
    let requestID: String
    private let user = Mutex<Int64?>(nil)

    init(requestID: String) {
        self.requestID = requestID
    }

    var userID: Int64? {
        get { user.withLock { $0 } }
        set { user.withLock { $0 = newValue } }
    }
}
