import Foundation
import NIOHTTP1
import Testing

@testable import Bus

/// The golden vectors of `Vectors/generate_sigv4_vectors.py`, signed by botocore's `SigV4Auth`.
struct SigV4Vector: Decodable, CustomTestStringConvertible {
    struct Expected: Decodable {
        var authorization: String
        var amzDate: String
        var securityToken: String?
        var contentSHA256: String?
        var canonicalRequest: String
        var stringToSign: String
    }

    var name: String
    var service: String
    var region: String
    var accessKeyID: String
    var secretAccessKey: String
    var sessionToken: String?
    var date: String
    var method: String
    var url: String
    var query: [[String]]
    var headers: [[String]]
    var body: String
    var contentSHA256Header: Bool
    var expected: Expected

    var testDescription: String { self.name }

    static let all: [SigV4Vector] = {
        struct Document: Decodable { var vectors: [SigV4Vector] }
        guard let url = Bundle.module.url(forResource: "sigv4", withExtension: "json"),
            let data = try? Data(contentsOf: url),
            let document = try? JSONDecoder().decode(Document.self, from: data)
        else { return [] }
        return document.vectors
    }()

    var signer: SigV4Signer {
        SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: self.accessKeyID,
                secretAccessKey: self.secretAccessKey,
                sessionToken: self.sessionToken
            ),
            region: self.region,
            service: self.service,
            sendsContentSHA256: self.contentSHA256Header
        )
    }

    /// The vector's request as the client would build it: endpoint and path split from the URL.
    var request: AWSHTTPRequest {
        let afterScheme = self.url.split(separator: "://", maxSplits: 1)[1]
        let slash = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
        let scheme = String(self.url.split(separator: "://")[0])
        var headers = HTTPHeaders()
        for pair in self.headers { headers.add(name: pair[0], value: pair[1]) }
        return AWSHTTPRequest(
            method: HTTPMethod(rawValue: self.method),
            endpoint: AWSEndpoint(url: "\(scheme)://\(afterScheme[..<slash])")!,
            path: slash == afterScheme.endIndex ? "/" : String(afterScheme[slash...]),
            query: self.query.map { AWSHTTPRequest.QueryParameter($0[0], $0[1]) },
            headers: headers,
            body: Array(self.body.utf8)
        )
    }

    var instant: Date { ISO8601DateFormatter().date(from: self.date)! }
}

@Suite("SigV4 golden vectors from botocore")
struct SigV4VectorTests {
    @Test("the vector file is bundled and covers what it must")
    func coverage() {
        let vectors = SigV4Vector.all
        #expect(vectors.count >= 13)
        #expect(vectors.contains { $0.sessionToken != nil })
        #expect(vectors.contains { $0.body.isEmpty })
        #expect(vectors.contains { !$0.body.allSatisfy(\.isASCII) })
        #expect(vectors.contains { $0.query.contains { $0[1].contains(" ") && $0[1].contains("/") } })
        #expect(Set(vectors.map(\.service)) == ["sns", "sqs"])
        #expect(Set(vectors.map(\.region)).count >= 5)
    }

    @Test(
        "Authorization, X-Amz-Date, X-Amz-Security-Token and X-Amz-Content-SHA256 match byte for byte",
        arguments: SigV4Vector.all
    )
    func signature(_ vector: SigV4Vector) {
        var request = vector.request
        vector.signer.sign(&request, at: vector.instant)
        #expect(request.headers["Authorization"] == [vector.expected.authorization])
        #expect(request.headers["X-Amz-Date"] == [vector.expected.amzDate])
        #expect(request.headers["X-Amz-Security-Token"] == (vector.expected.securityToken.map { [$0] } ?? []))
        #expect(request.headers["X-Amz-Content-SHA256"] == (vector.expected.contentSHA256.map { [$0] } ?? []))
    }

    @Test("canonical request and string to sign match botocore's", arguments: SigV4Vector.all)
    func canonicalForms(_ vector: SigV4Vector) {
        var request = vector.request
        vector.signer.sign(&request, at: vector.instant)
        request.headers.remove(name: "Authorization")
        let payloadHash =
            request.headers.first(name: "X-Amz-Content-SHA256")
            ?? SigV4Signer.payloadHash(request.body)
        let canonical = vector.signer.canonicalRequest(request, payloadHash: payloadHash)
        #expect(canonical.text == vector.expected.canonicalRequest)
        #expect(
            vector.signer.stringToSign(canonical: canonical.text, at: AMZDate(vector.instant))
                == vector.expected.stringToSign
        )
    }

    @Test("signing twice replaces the earlier signature instead of adding a second one")
    func resigning() throws {
        let vector = try #require(SigV4Vector.all.first { $0.sessionToken != nil })
        var request = vector.request
        vector.signer.sign(&request, at: Date(timeIntervalSince1970: 0))
        vector.signer.sign(&request, at: vector.instant)
        #expect(request.headers["Authorization"] == [vector.expected.authorization])
        #expect(request.headers["X-Amz-Security-Token"].count == 1)
        #expect(request.headers["Host"].count == 1)
    }
}
