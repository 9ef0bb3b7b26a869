import HTTPTypes
import Hummingbird

/// The externally visible base URL: configured (`ALMANAC_PUBLIC_URL`), or taken from the
/// request's Host header.
struct PublicURL: Sendable {
    let configured: String?

    func base(for request: Request) -> String {
        if let configured, !configured.isEmpty {
            return configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        }
        let host = request.head.authority ?? "127.0.0.1:6400"
        let scheme = request.headers[HTTPField.Name("X-Forwarded-Proto")!] ?? "http"
        return "\(scheme)://\(host)"
    }
}
