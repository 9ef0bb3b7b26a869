import Foundation
public import Tracing

/// A trace context written down as the propagation fields of the process's tracer (with
/// OpenTelemetry the W3C `traceparent` and `tracestate`), so that it can be stored with an event
/// and carried on the bus. Only the swift-distributed-tracing API is used: which tracer (if any)
/// fills the fields is the executable's choice.
public enum TraceCarrier {
    /// The fields that propagate `span`'s context; nil when the span is not recording (no tracer
    /// is bootstrapped, or it was not sampled), so that nothing is stored when tracing is off.
    public static func fields(of span: any Span) -> [String: String]? {
        guard span.isRecording else { return nil }
        var fields: [String: String] = [:]
        InstrumentationSystem.instrument.inject(span.context, into: &fields, using: Injector())
        return fields.isEmpty ? nil : fields
    }

    /// The context that `fields` describe; nil when the tracer finds none in them.
    public static func context(from fields: [String: String]) -> InstrumentationContext? {
        var context = InstrumentationContext.topLevel
        InstrumentationSystem.instrument.extract(fields, into: &context, using: Extractor())
        // An instrument that found nothing leaves the context empty.
        return context.isEmpty ? nil : context
    }

    /// Links `span` to each distinct context among `carried` (a batch's events, which may come
    /// from many traces), at most `limit` of them; returns how many were linked.
    @discardableResult
    public static func link(
        _ span: any Span,
        to carried: some Sequence<[String: String]?>,
        limit: Int = 128
    ) -> Int {
        guard span.isRecording else { return 0 }
        var seen = Set<[String: String]>()
        var linked = 0
        for case let fields? in carried where linked < limit && seen.insert(fields).inserted {
            guard let context = context(from: fields) else { continue }
            span.addLink(SpanLink(context: context, attributes: [:]))
            linked += 1
        }
        return linked
    }

    /// The fields as the JSON object stored in `events.trace_context` (keys sorted).
    static func encode(_ fields: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A [String: String] always encodes.
        return (try? String(decoding: encoder.encode(fields), as: UTF8.self)) ?? "{}"
    }

    /// The fields of a stored JSON object; nil when it is not one of strings (a trace context
    /// is a hint for the tracer, never a reason to fail a read).
    static func decode(_ json: String) -> [String: String]? {
        try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))
    }

    struct Injector: Tracing.Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            carrier[key] = value
        }
    }

    struct Extractor: Tracing.Extractor {
        func extract(key: String, from carrier: [String: String]) -> String? {
            carrier[key]
        }
    }
}
