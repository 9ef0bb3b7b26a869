import Workload

/// Loaded calendars by size, shared by the scenarios of one run so each N is loaded once.
final class CalendarRegistry {
    let server: BenchServer.Running
    private var loaded: [Int: LoadedCalendar] = [:]

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
}
