import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// The JSON body as bytes, at most `RequestLimits.bodyBytes` (413 beyond). The request must
    /// say `Content-Type: application/json` (415 otherwise): a web page can send `text/plain`
    /// cross-site without a preflight, never JSON.
    mutating func bodyBytes(context: AppRequestContext) async throws -> [UInt8] {
        guard let type = headers[.contentType], Self.isJSON(type) else {
            throw APIError(
                .unsupportedMediaType,
                "send the body as JSON with Content-Type: application/json"
            )
        }
        do {
            let buffer = try await collectBody(upTo: RequestLimits.bodyBytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body is larger than \(RequestLimits.bodyBytes) bytes")
        }
    }

    static func isJSON(_ contentType: String) -> Bool {
        let media = contentType.split(separator: ";", maxSplits: 1)[0]
        return media.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }

    /// The `Authorization: Bearer <token>` credential, if any.
    var bearerToken: String? {
        guard let value = headers[.authorization] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

extension Response {
    /// A JSON response from bytes the JSON writer produced.
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
