import Benchmark
import Domain
import Projector
import Workload

// Micro-benchmarks of the projection's `apply`: the pure `CalendarProjection.apply` of one event
// to the k entries it touches, and `InMemoryCalendar.apply` in calendars of 1,000 and 100,000
// todos (its cost must not depend on N).

let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount]

let small = CalendarCorpus(size: 1_000)
let large = CalendarCorpus(size: 100_000)
let smallCalendar = Fixtures.calendar(small)
let largeCalendar = Fixtures.calendar(large)

/// A bulk completion of `k` todos spread over the corpus.
func completion(_ corpus: CalendarCorpus, k: Int, at micros: Int64) -> TodoEvent {
    .todosCompleted(TodosCompleted(todoIDs: corpus.spreadIDs(count: k), at: Timestamp(microseconds: micros)))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: metrics,
        warmupIterations: 2,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 500
    )

    for k in [1, 100, 1_000] {
        Benchmark("CalendarProjection.apply, bulk completion k = \(k)") { benchmark in
            let event = completion(large, k: k, at: 1_800_000_000_000_000)
            let current = Dictionary(uniqueKeysWithValues: event.todoIDs.map { ($0, largeCalendar.entries[$0]!) })
            benchmark.startMeasurement()
            blackHole(
                CalendarProjection.apply(
                    [(largeCalendar.version + 1, event)],
                    current: current,
                    settings: largeCalendar.settings,
                    appliedVersion: largeCalendar.version
                )
            )
        }
    }

    Benchmark("CalendarProjection.apply, single-todo edit") { benchmark in
        let event = TodoEvent.todoUpdated(
            TodoUpdated(
                todoID: 4_242,
                title: "Edited, with Umlaut: Ärger",
                at: Timestamp(microseconds: 1_800_000_000_000_000)
            )
        )
        let current = [4_242: largeCalendar.entries[4_242]!]
        benchmark.startMeasurement()
        blackHole(
            CalendarProjection.apply(
                [(largeCalendar.version + 1, event)],
                current: current,
                settings: largeCalendar.settings,
                appliedVersion: largeCalendar.version
            )
        )
    }

    for (label, corpus, base) in [("N = 1,000", small, smallCalendar), ("N = 100,000", large, largeCalendar)] {
        Benchmark("InMemoryCalendar.apply, bulk completion k = 100, \(label)") { benchmark in
            // The copy of the calendar (and its copy-on-write) happens before the measurement.
            var calendar = base
            calendar.apply([(calendar.version + 1, completion(corpus, k: 1, at: 1_800_000_000_000_000))])
            let event = completion(corpus, k: 100, at: 1_800_000_000_000_001)
            benchmark.startMeasurement()
            calendar.apply([(calendar.version + 1, event)])
            benchmark.stopMeasurement()
            blackHole(calendar)
        }
    }
}
