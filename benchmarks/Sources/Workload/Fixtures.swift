public import Domain
public import Projector

/// Prepared inputs of the micro-benchmarks, built once outside the measurement.
public enum Fixtures {
    /// The corpus folded into the state the full regeneration renders.
    public static func state(_ corpus: CalendarCorpus) -> UserCalendar {
        var state = UserCalendar()
        for (version, event) in corpus.events { state.apply(event, version: version) }
        return state
    }

    /// The corpus applied to an in-memory projection, in batches as the projector applies them.
    public static func calendar(_ corpus: CalendarCorpus) -> InMemoryCalendar {
        var calendar = InMemoryCalendar()
        let events = corpus.events
        for first in stride(from: 0, to: events.count, by: 1_000) {
            calendar.apply(Array(events[first..<min(first + 1_000, events.count)]))
        }
        return calendar
    }
}
