import AlmanacTestSupport
import Testing

/// The ports private PostgreSQL clusters listen on are chosen before they are bound (PostgreSQL
/// cannot be told to take any free port and say which; the tests' API servers can: port 0). A
/// port from the kernel's ephemeral range can meanwhile become the source port of any outgoing
/// connection of the tests running beside them, and the bind then fails ("Address already in
/// use", seen once in a full run, in `DatabaseRestartTests`).
@Suite("Test support: free ports")
struct FreePortTests {
    @Test("a free port is never one the kernel can give an outgoing connection")
    func outsideTheEphemeralRange() throws {
        let ephemeral = try #require(ephemeralPortRange())
        // Where the range leaves no room either side, the kernel chooses, inside it (see below).
        let candidates = freePortCandidates(outside: ephemeral) ?? ephemeral
        for _ in 0..<50 {
            let port = try freePort()
            #expect(candidates.contains(port), "port \(port) is not among \(candidates)")
            if candidates != ephemeral {
                #expect(!ephemeral.contains(port), "port \(port) is in the ephemeral range \(ephemeral)")
            }
        }
    }

    /// A port is handed out once per process: two clusters starting side by side on one drawn
    /// port would collide.
    @Test func aPortIsHandedOutOncePerProcess() throws {
        guard freePortCandidates(outside: try #require(ephemeralPortRange())) != nil else { return }
        let ports = try (0..<300).map { _ in try freePort() }
        #expect(Set(ports).count == ports.count)
    }

    /// A kernel range that leaves no room below 21,000 and ends at 65,535 (e.g. "1024 65535")
    /// made the old rule build the range 65536...65535, which traps; now there is no candidate
    /// range and `freePort` lets the kernel choose.
    @Test func theCandidatesAvoidTheRangeAndExistOnlyWhereThereIsRoom() {
        #expect(freePortCandidates(outside: 32768...60999) == 20000...32767)
        #expect(freePortCandidates(outside: 10000...30000) == 30001...65535)
        #expect(freePortCandidates(outside: 1024...65000) == 65001...65535)
        #expect(freePortCandidates(outside: 1024...65535) == nil)
        #expect(freePortCandidates(outside: 21000...65535) == nil)
    }
}
