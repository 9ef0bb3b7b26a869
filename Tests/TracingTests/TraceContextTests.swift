import API
import AlmanacTestSupport
import Bus
import Domain
import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import InMemoryTracing
import Logging
import Projector
import Relay
import Runtime
import ServiceLifecycle
import Synchronization
import Testing
import Tracing

/// Spans and the trace context from the API through the event row and the relay's envelope to
/// the projector. Each test scopes its own `InMemoryTracer` with `withTracer` (a task-local, so
/// tests running at the same time never see each other's spans and nothing is bootstrapped).
@Suite("Tracing")
struct TraceContextTests {
    /// The spans of `tracer` named `name`.
    static func spans(_ tracer: InMemoryTracer, named name: String) -> [FinishedInMemorySpan] {
        tracer.finishedSpans.filter { $0.operationName == name }
    }

    /// The in-memory span contexts `span` links to.
    static func linked(_ span: FinishedInMemorySpan) -> [InMemorySpanContext] {
        span.links.compactMap(\.context.inMemorySpanContext)
    }

    /// Remembers what the relay publishes.
    final class RecordingPublisher: EventPublisher {
        let published = Mutex<[BusMessage]>([])
        func publish(_ messages: [BusMessage]) async throws {
            published.withLock { $0 += messages }
        }
    }

    /// The test app with `tracer` scoped to it, and a user.
    static func withTracedApp(
        _ tracer: InMemoryTracer,
        _ body: @Sendable (TestApp, (id: Int64, authorization: String)) async throws -> Void
    ) async throws {
        try await withTracer(tracer) {
            try await TestApp.run { app in try await body(app, try await app.user("ada")) }
        }
    }

    @Test func aTodoCreatedThroughTheAPIIsFollowedToTheEnvelopeAndTheProjection() async throws {
        let tracer = InMemoryTracer()
        try await Self.withTracedApp(tracer) { app, ada in
            let response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: ada.authorization,
                json: #"{"title": "traced"}"#,
                headers: [HTTPField.Name("X-Request-Id")!: "trace-me-1"]
            )
            #expect(response.status == .created)

            // The request span, and the append span as its child in the same trace.
            let request = try #require(Self.spans(tracer, named: "POST /api/v1/todos").first)
            #expect(request.kind == .server)
            #expect(request.attributes["http.route"]?.toSpanAttribute() == "/api/v1/todos")
            #expect(request.attributes["http.response.status_code"]?.toSpanAttribute() == 201)
            #expect(request.attributes["almanac.request_id"]?.toSpanAttribute() == "trace-me-1")
            #expect(request.attributes["url.path"] == nil)
            let append = try #require(
                Self.spans(tracer, named: "event_store.append").first { $0.traceID == request.traceID }
            )
            #expect(append.parentSpanID == request.spanID)
            #expect(append.attributes["almanac.stream_id"]?.toSpanAttribute() == .int64(ada.id))

            // The event row holds the append span's context.
            let events = try await app.services.store.readStream(ada.id)
            let created = try #require(events.last)
            let stored: [String: String] = [
                InMemoryTracer.traceIDKey: append.traceID, InMemoryTracer.spanIDKey: append.spanID,
            ]
            #expect(created.traceContext == stored)

            // The relay puts it into the envelope, and links its publish span to it.
            let publisher = RecordingPublisher()
            try await OutboxRelay(store: app.services.store, publisher: publisher).drainCommitted()
            let message = try #require(
                publisher.published.withLock { $0 }.first { $0.eventID == created.eventID.uuidString.lowercased() }
            )
            #expect(try BusEnvelope(decoding: message).traceContext == stored)
            #expect(try BusEnvelope.Hint(decoding: message).traceContext == stored)
            let publishes = Self.spans(tracer, named: "relay.publish")
            #expect(!publishes.isEmpty && publishes.allSatisfy { $0.kind == .producer })
            #expect(
                publishes.contains { batch in
                    Self.linked(batch).contains { $0.traceID == append.traceID && $0.spanID == append.spanID }
                }
            )

            // The embedded projector's batch span links to it too.
            let projector = StoreTailingProjector(writer: ProjectionWriter(store: app.services.store))
            try await projector.drainCommitted()
            let applied = Self.spans(tracer, named: "projection.apply")
            #expect(
                applied.contains { batch in
                    Self.linked(batch).contains { $0.traceID == append.traceID && $0.spanID == append.spanID }
                }
            )
        }
    }

    @Test func aCallersTraceparentIsContinued() async throws {
        let tracer = InMemoryTracer()
        try await Self.withTracedApp(tracer) { app, ada in
            // The in-memory tracer propagates its own fields (OpenTelemetry's are traceparent).
            let response = try await app.send(
                .get,
                "/api/v1/todos",
                auth: ada.authorization,
                headers: [
                    HTTPField.Name(InMemoryTracer.traceIDKey)!: "caller-trace",
                    HTTPField.Name(InMemoryTracer.spanIDKey)!: "caller-span",
                ]
            )
            #expect(response.status == .ok)
            let request = try #require(Self.spans(tracer, named: "GET /api/v1/todos").first)
            #expect(request.traceID == "caller-trace")
            #expect(request.parentSpanID == "caller-span")
        }
    }

    @Test func withoutATracerNothingIsStored() async throws {
        try await TestApp.run { app in
            let ada = try await app.user("ada")
            let response = try await app.send(
                .post,
                "/api/v1/todos",
                auth: ada.authorization,
                json: #"{"title": "untraced"}"#
            )
            #expect(response.status == .created)
            let events = try await app.services.store.readStream(ada.id)
            #expect(!events.isEmpty)
            #expect(events.allSatisfy { $0.traceContext == nil })
            let message = BusEnvelope(try #require(events.last)).message
            #expect(!String(decoding: message.payload, as: UTF8.self).contains("trace_context"))
        }
    }

    /// One batch of events appended under many traces: one link per distinct context.
    @Test func aBatchFromManyTracesLinksEachOnce() async throws {
        let tracer = InMemoryTracer()
        try await withTracer(tracer) {
            try await TestDatabase.withStore { store in
                let services = AlmanacServices(store: store)
                var events = 0
                for n in 1...3 {
                    try await withSpan("request \(n)") { _ in
                        let user = try await services.users.create(name: "user-\(n)").user.id
                        try await FanOutChecks.append(services, user: user, codes: Array(1...(4 * n)))
                        events += Int(try await store.version(of: user))
                    }
                }
                let appends = Self.spans(tracer, named: "event_store.append")
                #expect(Set(appends.map(\.traceID)).count == 3)
                #expect(appends.count > 3)
                let relay = OutboxRelay(store: store, publisher: RecordingPublisher())
                try await relay.drainCommitted()
                // The relay may take the log in more than one batch: each links its appends once.
                let publishes = Self.spans(tracer, named: "relay.publish")
                let links = publishes.flatMap(Self.linked)
                #expect(links.count == appends.count)
                #expect(Set(links.map(\.spanID)) == Set(appends.map(\.spanID)))
                let published = publishes.compactMap { span -> Int64? in
                    guard case .int64(let count) = span.attributes["messaging.batch.message_count"]?.toSpanAttribute()
                    else { return nil }
                    return count
                }
                #expect(published.reduce(0, +) == Int64(events))
            }
        }
    }
}

@Suite("The bus envelope's trace context")
struct EnvelopeTraceContextTests {
    static func envelope(traceContext: [String: String]?) -> BusEnvelope {
        let event = TodoEvent.todoCreated(
            TodoCreated(
                todoID: 1,
                uid: "u1",
                title: "t",
                description: "",
                completed: false,
                deadline: nil,
                at: Timestamp(microseconds: 1_790_000_000_000_000)
            )
        )
        return BusEnvelope(
            eventID: UUID(),
            streamID: 7,
            version: 1,
            type: event.type,
            data: EventCoding.encode(event),
            recordedAt: 1_790_000_000_000_000,
            position: 3,
            traceContext: traceContext
        )
    }

    @Test func anEnvelopeRoundTripsItsTraceContext() throws {
        let fields = ["traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=b"]
        let envelope = Self.envelope(traceContext: fields)
        let message = envelope.message
        let text = String(decoding: message.payload, as: UTF8.self)
        #expect(text.contains(#""traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01""#))
        #expect(try BusEnvelope.Hint(decoding: message).traceContext == fields)
        #expect(try BusEnvelope(decoding: message) == envelope)
    }

    @Test(arguments: [
        "",  // an envelope of an older relay, or of an untraced append
        #","trace_context":null"#,
        #","trace_context":"00-not-an-object""#,
        #","trace_context":{"traceparent":1}"#,
    ])
    func anEnvelopeWithoutAUsableTraceContextStillDecodes(_ extra: String) throws {
        let plain = Self.envelope(traceContext: nil).message
        let message = BusMessage(
            key: plain.key,
            eventID: plain.eventID,
            payload: plain.payload.dropLast() + Array(extra.utf8) + Array("}".utf8)
        )
        let hint = try BusEnvelope.Hint(decoding: message)
        #expect(hint == BusEnvelope.Hint(streamID: 7, version: 1, traceContext: nil))
        let envelope = try BusEnvelope(decoding: message)
        #expect(envelope.position == 3 && envelope.traceContext == nil)
    }
}
