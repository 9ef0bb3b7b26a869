import Crypto
import EventStore
import HTTPTypes
import Hummingbird

/// The `Idempotency-Key` request header of the writes (POST, PUT, DELETE of todos and the bulk
/// completion): a retried request with the same key and the same method, path and body gets the
/// first answer again (with `Idempotent-Replayed: true`) instead of writing twice; the same key
/// with another request is 422. Keys are per user and remembered for `IdempotencyTable.retention`.
enum IdempotencyKey {
    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!
    /// The longest key accepted, in bytes.
    static let maxLength = 255

    /// The keyed form of `request` (nil without the header); 400 for a malformed key.
    static func keyed<Result: Sendable>(
        _ request: Request,
        body: [UInt8],
        answer: @escaping @Sendable (Result) -> IdempotencyTable.Answer
    ) throws(APIError) -> CommandExecutor.Keyed<Result>? {
        let values = request.headers[values: header]
        guard let key = values.first else { return nil }
        guard values.count == 1 else { throw .badRequest("send one Idempotency-Key header, not \(values.count)") }
        let bytes = Array(key.utf8)
        guard (1...maxLength).contains(bytes.count), bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw .badRequest("Idempotency-Key must be 1 to \(maxLength) visible ASCII characters")
        }
        var hash = SHA256()
        hash.update(data: Array("\(request.method.rawValue) \(request.uri.path)\n".utf8))
        hash.update(data: body)
        return CommandExecutor.Keyed(
            IdempotencyTable.Request(key: key, fingerprint: Array(hash.finalize())),
            answer: answer
        )
    }

    /// The response to a write, done now or replayed.
    static func response<Result: Sendable>(
        _ executed: CommandExecutor.Executed<Result>,
        answer: (Result) -> IdempotencyTable.Answer
    ) -> Response {
        switch executed {
        case .done(let result):
            return response(answer(result))
        case .replayed(let stored):
            var response = response(stored)
            response.headers[replayedHeader] = "true"
            return response
        }
    }

    private static func response(_ answer: IdempotencyTable.Answer) -> Response {
        .json(answer.body, status: HTTPResponse.Status(code: answer.status))
    }
}
