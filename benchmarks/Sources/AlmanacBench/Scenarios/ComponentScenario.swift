import Domain
import Projector
import Workload

/// Scenario 1, in-process and without I/O: full regeneration of a calendar of N todos versus
/// the incremental apply of a change to k of them.
struct ComponentScenario {
    let plan: Plan

    func run(into results: inout RunResults) {
        for n in plan.sizes {
            Progress.log("component: N = \(n): generating the calendar")
            let corpus = CalendarCorpus(size: n)
            run(corpus, into: &results)
        }
    }

    private func run(_ corpus: CalendarCorpus, into results: inout RunResults) {
        let n = corpus.size
        var events = corpus.events
        let reps = plan.componentRepetitions

        // Full regeneration: fold every event, render every component, assemble the feed.
        Progress.log("component: N = \(n): full regeneration x \(reps)")
        let full = repeated(reps) { FullRegeneration.feed(events: events.lazy.map(\.event), variant: .events).count }
        record(&results, "full regeneration", n: n, samples: full)

        var state = UserCalendar()
        for (version, event) in events { state.apply(event, version: version) }
        let render = repeated(reps) { FullRegeneration.feed(state, variant: .events).count }
        record(&results, "full render", n: n, samples: render)

        var calendar = InMemoryCalendar()
        for chunk in stride(from: 0, to: events.count, by: 5000) {
            calendar.apply(Array(events[chunk..<min(chunk + 5000, events.count)]))
        }

        // The O(N) part of serving a changed feed: concatenating the fragments in order.
        let fragments = calendar.entries.values.sorted { $0.todoID < $1.todoID }
            .compactMap { FeedVariant.events.fragment(event: $0.event, task: $0.task, completed: $0.todo.completed) }
        let assembly = repeated(reps) {
            FeedAssembler.assemble(name: corpus.registration.name, fragments: fragments).count
        }
        record(&results, "feed assembly", n: n, samples: assembly)

        var clock = CalendarCorpus.yearStart.microseconds + 400 * 86_400 * 1_000_000
        func next(_ event: (Timestamp) -> TodoEvent) -> (ms: Double, written: Int) {
            clock += 1_000_000
            let change = (version: calendar.version + 1, event: event(Timestamp(microseconds: clock)))
            events.append(change)
            let (ms, _) = measure { calendar.apply([change]) }
            return (ms, calendar.lastWrittenEntries)
        }

        for k in plan.ks where k <= n {
            // Completing a todo again re-renders it just the same, so every repetition costs k renders.
            let ids = corpus.spreadIDs(count: k)
            Progress.log("component: N = \(n): incremental bulk completion k = \(k) x \(reps)")
            var samples: [Double] = []
            for rep in 0..<(reps + plan.warmup) {
                let (ms, written) = next { .todosCompleted(TodosCompleted(todoIDs: ids, at: $0)) }
                precondition(written == k, "a bulk completion of \(k) wrote \(written) entries")
                if rep >= plan.warmup { samples.append(ms) }
            }
            record(&results, "incremental bulk completion", n: n, k: k, samples: samples)
            if let full = results.find("component", "full regeneration", n: n) {
                results.ratios.append(
                    Ratio(
                        scenario: "component",
                        n: n,
                        change: "bulk completion k=\(k)",
                        full: full.summary.median,
                        incremental: Summary(samples).median
                    )
                )
            }
        }

        Progress.log("component: N = \(n): incremental single-todo edit x \(reps)")
        var edits: [Double] = []
        for rep in 0..<(reps + plan.warmup) {
            let id = corpus.spreadIDs(count: reps + plan.warmup)[rep]
            let (ms, written) = next {
                .todoUpdated(TodoUpdated(todoID: id, title: "Edited, again: Ärger № \(rep)", at: $0))
            }
            precondition(written == 1)
            if rep >= plan.warmup { edits.append(ms) }
        }
        record(&results, "incremental edit", n: n, k: 1, samples: edits)
        if let full = results.find("component", "full regeneration", n: n) {
            results.ratios.append(
                Ratio(
                    scenario: "component",
                    n: n,
                    change: "single-todo edit",
                    full: full.summary.median,
                    incremental: Summary(edits).median
                )
            )
        }

        // Invariant 6: what the increments built equals a regeneration of all events.
        let matches = calendar.feed(.events) == FullRegeneration.feed(events: events.map(\.event), variant: .events)
        results.notes.append("component N=\(n): incremental feed equals full regeneration: \(matches)")
        if !matches { Progress.log("component: N = \(n): INCREMENTAL AND FULL FEEDS DIFFER") }
    }

    private func repeated(_ reps: Int, _ body: () -> Int) -> [Double] {
        var samples: [Double] = []
        var sink = 0
        for rep in 0..<(reps + plan.warmup) {
            let (ms, bytes) = measure(body)
            sink &+= bytes
            if rep >= plan.warmup { samples.append(ms) }
        }
        precondition(sink > 0)
        return samples
    }

    private func record(_ results: inout RunResults, _ series: String, n: Int, k: Int? = nil, samples: [Double]) {
        let m = Measurement(scenario: "component", series: series, n: n, k: k, samples: samples)
        Progress.log(
            "component: N = \(n) \(series)\(k.map { " k = \($0)" } ?? ""): median \(format(m.summary.median)) ms, p95 \(format(m.summary.p95)) ms"
        )
        results.measurements.append(m)
    }
}
