import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/1 over plain sockets, for tests that need clients a library would not be: ones that
/// never read, or send slowly. Blocking calls run on NIO's thread pool.
public enum RawHTTP {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// A connected socket to 127.0.0.1:`port`; `receiveBuffer` shrinks the kernel's buffer so a
    /// client that does not read pushes back on the server quickly.
    public static func connect(port: Int, receiveBuffer: Int32? = nil, timeoutSeconds: Int = 5) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(fd)
            throw Failure(description: "connect: \(errno)")
        }
        return fd
    }

    public static func send(_ fd: Int32, _ text: String) throws {
        let bytes = Array(text.utf8)
        let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw Failure(description: "send: \(errno)") }
    }

    /// Whether bytes wait to be read on `fd` (without reading them).
    public static func hasData(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 1
    }

    /// A whole `Connection: close` exchange: the status code, within the socket timeouts.
    public static func get(port: Int, path: String, headers: [String: String] = [:], timeoutSeconds: Int = 5)
        async throws -> Int
    {
        try await NIOThreadPool.singleton.runIfActive {
            let fd = try connect(port: port, timeoutSeconds: timeoutSeconds)
            defer { close(fd) }
            var request = "GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            try send(fd, request + "\r\n")
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count == 0 { break }
                guard count > 0 else { throw Failure(description: "recv timed out or failed: \(errno)") }
                response += buffer[0..<count]
            }
            let head = String(decoding: response.prefix(32), as: UTF8.self)
            guard head.hasPrefix("HTTP/1.1 "), let code = Int(head.dropFirst(9).prefix(3)) else {
                throw Failure(description: "not an HTTP response: \(head)")
            }
            return code
        }
    }
}
