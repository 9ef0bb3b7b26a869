import Benchmark
import Domain
import ICal
import Projector
import Workload

// Micro-benchmarks of the RFC 5545 writer: one component per iteration (×1000 per sample), over a
// corpus of realistic todos (escaping, folding of non-ASCII text, all-day and timed deadlines).

let metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount]

let corpus = CalendarCorpus(size: 1_000)
let renderer = FragmentRenderer(timeZoneIdentifier: corpus.registration.timeZone)
let todos = corpus.todos.map { Todo(created: $0) }
let fields = todos.map { renderer.fields($0) }
let fragments = Fixtures.calendar(CalendarCorpus(size: 10_000)).entries.values.sorted { $0.todoID < $1.todoID }
    .compactMap(\.event)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: metrics,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    Benchmark("ComponentRenderer.event (VEVENT)") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(ComponentRenderer.event(fields[index % fields.count]))
        }
    }

    Benchmark("ComponentRenderer.todo (VTODO)") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(ComponentRenderer.todo(fields[index % fields.count]))
        }
    }

    Benchmark("FragmentRenderer.render (fields + VEVENT + VTODO)") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(renderer.render(todos[index % todos.count], changedVersion: 1))
        }
    }

    Benchmark("TextValue.escape (commas, newlines, non-ASCII)") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(TextValue.escape(todos[index % todos.count].description))
        }
    }

    Benchmark(
        "FeedAssembler.assemble, 10,000 fragments",
        configuration: .init(metrics: metrics, warmupIterations: 3, scalingFactor: .one, maxIterations: 200)
    ) { benchmark in
        blackHole(FeedAssembler.assemble(name: "Bench", fragments: fragments))
    }
}
