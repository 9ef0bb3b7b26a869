import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What counts as this machine: the name `localhost`, an IPv4 address in 127.0.0.0/8 or the
/// IPv6 address ::1, parsed as addresses (a host NAME such as `127.evil.example` is not one).
public enum Loopback {
    /// Whether `host` (a bind address or a host without port) is a loopback name or address.
    public static func isLoopback(host: String) -> Bool {
        var host = host.lowercased()
        if host.hasSuffix(".") { host.removeLast() }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { $0.elementsEqual([UInt8](repeating: 0, count: 15) + [1]) }
        }
        return false
    }

    /// Whether an HTTP authority (`Host` header: `host[:port]`, `[v6][:port]`) names this machine.
    public static func isLoopback(authority: String) -> Bool {
        isLoopback(host: host(ofAuthority: authority))
    }

    /// Whether an `Origin` header names a page served from this machine (`null` does not).
    public static func isLoopback(origin: String) -> Bool {
        guard let schemeEnd = origin.range(of: "://") else { return false }
        let scheme = origin[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return false }
        return isLoopback(authority: String(origin[schemeEnd.upperBound...]))
    }

    static func host(ofAuthority authority: String) -> String {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[...close])
        }
        if let colon = authority.lastIndex(of: ":"), authority[authority.index(after: colon)...].allSatisfy(\.isNumber)
        {
            return String(authority[..<colon])
        }
        return authority
    }
}
