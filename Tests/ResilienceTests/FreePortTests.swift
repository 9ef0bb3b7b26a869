import AlmanacTestSupport
import Testing

/// The ports tests listen on (private PostgreSQL clusters, API servers) are chosen before they are
/// bound. A port from the kernel's ephemeral range can meanwhile become the source port of any
/// outgoing connection of the tests running beside them, and the bind then fails ("Address already
/// in use", seen once in a full run, in `DatabaseRestartTests`).
@Suite("Test support: free ports")
struct FreePortTests {
    @Test("a free port is never one the kernel can give an outgoing connection")
    func outsideTheEphemeralRange() throws {
        let ephemeral = try #require(ephemeralPortRange())
        for _ in 0..<50 {
            let port = try freePort()
            #expect(!ephemeral.contains(port), "port \(port) is in the ephemeral range \(ephemeral)")
        }
    }
}
