public import Domain

/// A calendar projection held in memory, driven by the same `CalendarProjection.apply` as the
/// PostgreSQL storage, with the same version discipline: for tests and benchmarks.
public struct InMemoryCalendar: Sendable {
    public private(set) var entries: [Int: CalendarEntry] = [:]
    public private(set) var settings = CalendarSettings()
    public private(set) var version: Int64 = 0
    /// How many entries the last batch wrote (the incremental cost).
    public private(set) var lastWrittenEntries = 0

    public init() {}

    /// Applies deliveries that may be duplicated or out of order; `lookup` returns the stored
    /// events of a version range to fill gaps (as the store does).
    public mutating func deliver(
        _ deliveries: [(version: Int64, event: TodoEvent)],
        lookup: (ClosedRange<Int64>) -> [(version: Int64, event: TodoEvent)]
    ) {
        let fresh = deliveries.filter { $0.version > version }.sorted { $0.version < $1.version }
        guard let last = fresh.last else { return }
        var batch: [(version: Int64, event: TodoEvent)] = []
        var expected = version + 1
        for delivery in fresh where delivery.version >= expected {
            if delivery.version > expected {
                batch += lookup(expected...(delivery.version - 1))
            }
            batch.append(delivery)
            expected = delivery.version + 1
        }
        precondition(batch.last?.version == last.version)
        apply(batch)
    }

    /// Applies contiguous events `version + 1 ...`.
    public mutating func apply(_ batch: [(version: Int64, event: TodoEvent)]) {
        let ids = CalendarProjection.touchedTodoIDs(batch.map(\.event))
        var current: [Int: CalendarEntry] = [:]
        for id in ids { current[id] = entries[id] }
        let changes = CalendarProjection.apply(batch, current: current, settings: settings, appliedVersion: version)
        for (id, entry) in changes.entries { entries[id] = entry }
        lastWrittenEntries = changes.entries.count
        if changes.timeZoneChanged && changes.settings.timeZone != settings.timeZone {
            let renderer = FragmentRenderer(timeZoneIdentifier: changes.settings.timeZone)
            for (id, entry) in entries where !entry.deleted {
                var rendered = renderer.render(entry.todo, changedVersion: changes.version)
                rendered.changedVersion = changes.version
                entries[id] = rendered
            }
            lastWrittenEntries = entries.count
        }
        settings = changes.settings
        version = changes.version
    }

    public func feed(_ variant: FeedVariant) -> [UInt8] {
        FeedAssembler.assemble(name: settings.name, entries: Array(entries.values), variant: variant)
    }
}
