import Bus

/// What a batch of bus messages says: the highest version each stream reached (the store is the
/// authority for the events themselves) and the trace contexts the messages carried, for the
/// batch span to link to.
struct BusHints {
    var versions: [Int64: Int64] = [:]
    var traceContexts: [[String: String]] = []

    mutating func add(_ hint: BusEnvelope.Hint) {
        versions[hint.streamID] = max(versions[hint.streamID] ?? 0, hint.version)
        if let traceContext = hint.traceContext { traceContexts.append(traceContext) }
    }
}
