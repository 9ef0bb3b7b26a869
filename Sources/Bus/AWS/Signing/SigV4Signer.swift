import Crypto
public import Foundation
import NIOHTTP1

/// Signs requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as botocore's `SigV4Auth` does.
///
/// Pure: the same request, credentials and instant always give the same headers, which the golden
/// vectors in `Tests/BusTests/AWS/Vectors` check byte for byte.
public struct SigV4Signer: Sendable {
    /// The key pair (and session token) to sign with.
    public var credentials: AWSCredentials
    /// The region in the credential scope, e.g. `us-east-1`.
    public var region: String
    /// The signing name of the service in the credential scope, e.g. `sns` or `sqs`.
    public var service: String
    /// Also send (and sign) `X-Amz-Content-SHA256` with the payload hash; S3 needs it, SNS and SQS do not.
    public var sendsContentSHA256: Bool

    /// Headers left out of the signature because proxies and clients may change them (botocore's list).
    static let unsignedHeaders: Set<String> = ["expect", "user-agent", "x-amzn-trace-id", "authorization"]

    /// Creates a signer.
    public init(credentials: AWSCredentials, region: String, service: String, sendsContentSHA256: Bool = false) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.sendsContentSHA256 = sendsContentSHA256
    }

    /// Signs `request` as of `date`: sets `Host`, `X-Amz-Date`, `X-Amz-Security-Token` (temporary
    /// credentials only), `X-Amz-Content-SHA256` (if asked for) and `Authorization`, replacing earlier values.
    public func sign(_ request: inout AWSHTTPRequest, at date: Date) {
        let timestamp = AMZDate(date)
        let payloadHash = Self.payloadHash(request.body)
        for name in ["Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256"] {
            request.headers.remove(name: name)
        }
        if !request.headers.contains(name: "host") {
            request.headers.replaceOrAdd(name: "Host", value: request.endpoint.hostHeader)
        }
        request.headers.add(name: "X-Amz-Date", value: timestamp.dateTime)
        if let token = self.credentials.sessionToken {
            request.headers.add(name: "X-Amz-Security-Token", value: token)
        }
        if self.sendsContentSHA256 {
            request.headers.add(name: "X-Amz-Content-SHA256", value: payloadHash)
        }
        let canonical = self.canonicalRequest(request, payloadHash: payloadHash)
        let signature = self.signature(of: self.stringToSign(canonical: canonical.text, at: timestamp), at: timestamp)
        request.headers.add(
            name: "Authorization",
            value: "AWS4-HMAC-SHA256 Credential=\(self.credentials.accessKeyID)/\(self.scope(timestamp)), "
                + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        )
    }

    /// The canonical request and the `;`-joined names of the signed headers.
    func canonicalRequest(_ request: AWSHTTPRequest, payloadHash: String) -> (text: String, signedHeaders: String) {
        var values: [String: [String]] = [:]
        for (name, value) in request.headers {
            let name = name.lowercased()
            guard !Self.unsignedHeaders.contains(name) else { continue }
            values[name, default: []].append(value.split(whereSeparator: \.isWhitespace).joined(separator: " "))
        }
        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let headerLines = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        // A path is encoded a second time for every service but S3, as botocore does.
        let path = AWSPercentEncoding.encode(request.path.isEmpty ? "/" : request.path, keeping: "/")
        let text = [
            request.method.rawValue, path, request.canonicalQueryString, headerLines, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        return (text, signedHeaders)
    }

    func stringToSign(canonical: String, at timestamp: AMZDate) -> String {
        [
            "AWS4-HMAC-SHA256", timestamp.dateTime, self.scope(timestamp),
            Self.hex(SHA256.hash(data: Array(canonical.utf8))),
        ].joined(separator: "\n")
    }

    private func scope(_ timestamp: AMZDate) -> String {
        "\(timestamp.date)/\(self.region)/\(self.service)/aws4_request"
    }

    private func signature(of stringToSign: String, at timestamp: AMZDate) -> String {
        var key = SymmetricKey(data: Array("AWS4\(self.credentials.secretAccessKey)".utf8))
        for part in [timestamp.date, self.region, self.service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
    }

    /// The lowercase hex SHA-256 of `body`, the canonical request's last line.
    static func payloadHash(_ body: [UInt8]) -> String { Self.hex(SHA256.hash(data: body)) }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
