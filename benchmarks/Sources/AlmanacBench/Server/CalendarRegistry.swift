import Workload

/// Loaded calendars by size, shared by the scenarios of one run so each N is loaded once.
final class CalendarRegistry {
    let server: BenchServer.Running
    private var loaded: [Int: LoadedCalendar] = [:]
    /// Further calendars by size, for scenarios that need several of one size (`pool`).
    private var more: [Int: [LoadedCalendar]] = [:]

    init(server: BenchServer.Running) {
        self.server = server
    }

    func calendar(_ n: Int) async throws -> LoadedCalendar {
        if let calendar = loaded[n] { return calendar }
        Progress.log("load N = \(n): creating a user and loading \(n) todos (not timed)")
        let calendar = try await LoadedCalendar.load(CalendarCorpus(size: n), on: server)
        loaded[n] = calendar
        return calendar
    }

    /// `count` calendars of size `n`: `calendar(n)` first, then others loaded the first time
    /// they are asked for and shared afterwards (whoever uses them reopens what it needs).
    func pool(_ n: Int, count: Int) async throws -> [LoadedCalendar] {
        var pool = [try await calendar(n)]
        for index in 1..<max(1, count) {
            if index > more[n, default: []].count {
                Progress.log("load N = \(n): calendar \(index + 1) of \(count) of this size (not timed)")
                more[n, default: []].append(try await LoadedCalendar.load(CalendarCorpus(size: n), on: server))
            }
            pool.append(more[n]![index - 1])
        }
        return pool
    }
}
