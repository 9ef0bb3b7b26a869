import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import API

@Suite("Conditional requests and HTTP dates")
struct ConditionalRequestTests {
    static let etag = #""v42-g1-events""#

    @Test(arguments: [
        etag, "W/\(etag)", "*", #""other", \#(etag)"#, #""a",\#(etag),"b""#, " \t\(etag)\t ",
        #"W/"x" , W/\#(etag)"#, #""a", *"#,
    ])
    func matchingHeaders(header: String) {
        #expect(ConditionalRequest.matches(header, etag: Self.etag))
        #expect(ConditionalRequest.matches(header, etag: "W/\(Self.etag)"))
    }

    @Test(arguments: [
        "", ",", " , ", #""v42-g1-event""#, #""v42-g1-events"x"#, #"v42-g1-events"#, "**", "W/*", "w/\(etag)",
        #"W/ "v42-g1-events""#, #""stale""#, "\(etag.dropLast())", "\u{A0}\(etag)",
    ])
    func headersThatDoNotMatch(header: String) {
        #expect(!ConditionalRequest.matches(header, etag: Self.etag))
    }

    /// Several If-None-Match lines are one list; If-None-Match, when present, decides alone.
    @Test func severalIfNoneMatchLinesAreOneList() {
        func request(_ fields: [HTTPField]) -> Request {
            Request(
                head: HTTPRequest(
                    method: .get,
                    scheme: nil,
                    authority: nil,
                    path: "/",
                    headerFields: HTTPFields(fields)
                ),
                body: RequestBody(buffer: ByteBuffer())
            )
        }
        let since = HTTPField(name: .ifModifiedSince, value: HTTPDate.string(secondsSinceEpoch: 100))
        func notModified(_ fields: [HTTPField]) -> Bool {
            ConditionalRequest.isNotModified(request(fields), etag: Self.etag, lastModified: 50)
        }
        #expect(
            notModified([
                HTTPField(name: .ifNoneMatch, value: #""a""#), HTTPField(name: .ifNoneMatch, value: Self.etag),
            ])
        )
        #expect(
            notModified([
                HTTPField(name: .ifNoneMatch, value: Self.etag), HTTPField(name: .ifNoneMatch, value: #""a""#),
            ])
        )
        #expect(
            !notModified([HTTPField(name: .ifNoneMatch, value: #""a""#), HTTPField(name: .ifNoneMatch, value: #""b""#)])
        )
        #expect(!notModified([HTTPField(name: .ifNoneMatch, value: #""a""#), since]))
        #expect(notModified([since]))
        #expect(!notModified([]))
        #expect(notModified([HTTPField(name: .ifNoneMatch, value: "*")]))
    }

    @Test func knownDates() {
        #expect(HTTPDate.string(secondsSinceEpoch: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.string(secondsSinceEpoch: 0) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(HTTPDate.string(secondsSinceEpoch: -1) == "Wed, 31 Dec 1969 23:59:59 GMT")
        #expect(HTTPDate.string(secondsSinceEpoch: 253_402_300_799) == "Fri, 31 Dec 9999 23:59:59 GMT")
        // Beyond what four digits can write: clamped to the first and last instants they can.
        #expect(HTTPDate.string(secondsSinceEpoch: .max) == "Fri, 31 Dec 9999 23:59:59 GMT")
        #expect(HTTPDate.string(secondsSinceEpoch: .min) == "Mon, 01 Jan 0001 00:00:00 GMT")
        #expect(HTTPDate.string(secondsSinceEpoch: -62_135_596_800) == "Mon, 01 Jan 0001 00:00:00 GMT")
    }

    /// Against Foundation's formatter (an independent implementation) and back through the parser.
    @Test func datesAgreeWithFoundationAndRoundTrip() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var random = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let seconds = Int64.random(in: 0...253_402_300_799, using: &random)
            let text = HTTPDate.string(secondsSinceEpoch: seconds)
            #expect(text == formatter.string(from: Date(timeIntervalSince1970: Double(seconds))))
            #expect(HTTPDate.seconds(from: text) == seconds)
        }
    }
}
