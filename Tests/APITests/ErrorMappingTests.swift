import Domain
import EventStore
import HTTPTypes
import Testing

@testable import API

/// The one mapping from the typed errors below the HTTP edge to status codes and messages.
@Suite("Error mapping at the HTTP edge")
struct ErrorMappingTests {
    struct Unexpected: Error {}

    @Test func typedErrorsBecomeTheirStatus() throws {
        let invalid = try #require(APIError.mapping(ValidationError("title must not be empty")))
        #expect(invalid.status == .badRequest)
        #expect(invalid.message == "title must not be empty")
        let taken = try #require(APIError.mapping(UserTable.NameTaken(name: "alice")))
        #expect(taken.status == .conflict)
        #expect(taken.message.contains("alice"))
        let conflict = try #require(APIError.mapping(VersionConflict(streamID: 1, expected: 0, actual: 1)))
        #expect(conflict.status == .conflict)
        #expect(APIError.mapping(APIError(.gone, "rotated"))?.status == .gone)
    }

    /// A restart or failover is an outage, not a bug: 503 with Retry-After, never 500.
    @Test func aLostDatabaseConnectionIs503WithRetryAfter() throws {
        let outage = try #require(APIError.mapping(ConnectionLost()))
        #expect(outage.status == .serviceUnavailable)
        #expect(outage.headers[.retryAfter] != nil)
    }

    @Test func unexpectedErrorsAreNotMapped() {
        #expect(APIError.mapping(Unexpected()) == nil)
    }
}
