import Foundation
import Hummingbird
import NIOCore

extension Request {
    /// The body as bytes, at most `RequestLimits.bodyBytes` (413 beyond).
    mutating func bodyBytes(context: AppRequestContext) async throws -> [UInt8] {
        do {
            let buffer = try await collectBody(upTo: RequestLimits.bodyBytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body is larger than \(RequestLimits.bodyBytes) bytes")
        }
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
