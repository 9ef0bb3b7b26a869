import Bus
import Testing

/// The shared HTTP client's lifecycle, against moto_server.
@Suite("AWS HTTP client lifecycle", .timeLimit(.minutes(1)))
struct AWSHTTPClientMotoTests {
    @Test("as a Service it serves requests until graceful shutdown, then refuses them without retrying")
    func serviceLifecycle() async throws {
        let configuration = try Moto.configuration()
        let http = AWSHTTPClient(logger: testLogger)
        let counting = CountingTransport(http)
        let sqs = SQSClient(
            configuration: configuration,
            transport: counting,
            retryPolicy: fastRetries,
            logger: testLogger
        )
        try await withServices([http]) {
            let url = try await sqs.createQueue(name: Moto.uniqueName("lifecycle"))
            #expect(try await sqs.getQueueURL(name: url.split(separator: "/").last.map(String.init) ?? "") == url)
        }
        let before = counting.started
        let error = await #expect(throws: AWSError.self) { try await sqs.getQueueURL(name: "after-shutdown") }
        #expect(error?.code == .clientShutDown)
        #expect(error?.isRetryable == false)
        #expect(counting.started == before + 1)
        // Shutting down again is harmless.
        try await http.shutdown()
    }
}
