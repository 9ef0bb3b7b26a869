/// Where an AWS service answers: scheme, host and port of its URL (e.g. `https://sqs.us-east-1.amazonaws.com`
/// or a local `http://127.0.0.1:4566`).
public struct AWSEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public var scheme: String
    /// The host name or IP address, lowercased; an IPv6 address without brackets.
    public var host: String
    /// The port, when the URL names one.
    public var port: Int?

    /// Creates an endpoint; the scheme and host are lowercased.
    public init(scheme: String, host: String, port: Int? = nil) {
        self.scheme = scheme.lowercased()
        self.host = host.lowercased()
        self.port = port
    }

    /// Parses `scheme://host[:port][/]`; nil for anything else (a path, a query or user info).
    public init?(url: String) {
        let scheme: String
        if url.lowercased().hasPrefix("http://") {
            scheme = "http"
        } else if url.lowercased().hasPrefix("https://") {
            scheme = "https"
        } else {
            return nil
        }
        var authority = url.dropFirst(scheme.count + 3)
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        guard !authority.isEmpty, !authority.contains(where: { "/?#@ ".contains($0) }) else { return nil }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        var port: Int?
        if let portText {
            guard let number = Int(portText), (1...65535).contains(number) else { return nil }
            port = number
        }
        guard !host.isEmpty else { return nil }
        self.init(scheme: scheme, host: String(host), port: port)
    }

    /// The port a connection goes to: the explicit one or the scheme's default.
    public var effectivePort: Int { self.port ?? (self.scheme == "https" ? 443 : 80) }

    /// The `Host` header value: the host, bracketed if IPv6, with the port unless it is the scheme's default.
    public var hostHeader: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        guard let port, port != (self.scheme == "https" ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }

    /// The URL of `path` (already percent-encoded) with an encoded query string, if any.
    public func url(path: String, query: String = "") -> String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let port = self.port.map { ":\($0)" } ?? ""
        let path = path.isEmpty ? "/" : path
        return "\(self.scheme)://\(host)\(port)\(path)\(query.isEmpty ? "" : "?" + query)"
    }

    public var description: String { self.url(path: "") }
}
