import Foundation

/// CPU time (user and system) spent by processes, for the feed scenario's cost per answer: the
/// harness's own (the API it hosts; the load generator, wrk, is a process of its own) and
/// nginx's, its master and workers.
enum ProcessCPU {
    /// Seconds of CPU this process has used, all threads.
    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Seconds of CPU this process's waited-for children have used (pgbench, once it exited).
    static func childrenSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &usage)
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Seconds of CPU a PostgreSQL cluster has used: its postmaster, the backends alive now, and
    /// those that have exited (the postmaster waits for each, so theirs is in its children's
    /// time: pgbench's connections end with every run). `dataDirectory` holds `postmaster.pid`.
    ///
    /// A backend reaped between reading the postmaster and listing its children would count in
    /// neither (or, the other way round, in both), and pgbench's backends exit just as a run ends:
    /// a reading is taken again until two in a row agree on the children and the reaped time.
    static func postgresSeconds(dataDirectory: URL) -> Double {
        guard
            let text = try? String(
                contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"),
                encoding: .utf8
            ),
            let line = text.split(separator: "\n").first, let postmaster = Int32(line)
        else { return .nan }
        var previous: PostgresReading?
        for _ in 0..<20 {
            guard let reading = PostgresReading(postmaster: postmaster) else { return .nan }
            if let previous, Set(previous.children.keys) == Set(reading.children.keys),
                previous.reaped == reading.reaped
            {
                return reading.seconds
            }
            previous = reading
        }
        return previous?.seconds ?? .nan
    }

    /// The postmaster's own and its reaped children's ticks, and its live children's ticks by pid.
    private struct PostgresReading {
        var reaped: Int
        var own: Int
        var children: [Int32: Int]

        init?(postmaster: Int32) {
            guard let stat = ProcessCPU.stat(of: postmaster) else { return nil }
            (own, reaped) = (stat.ticks, stat.childTicks)
            children = [:]
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
                guard let pid = Int32(entry), let child = ProcessCPU.stat(of: pid), child.parent == postmaster else {
                    continue
                }
                children[pid] = child.ticks
            }
        }

        var seconds: Double {
            Double(own + reaped + children.values.reduce(0, +)) / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
    }

    /// Seconds of CPU used by `pid` and its children (nginx's workers), from `/proc` (clock-tick
    /// resolution, 10 ms here: a 3 s run at full load spends 2 to 6 s of CPU).
    static func seconds(ofProcessAndChildren pid: Int32) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = 0.0
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let candidate = Int32(entry), let stat = stat(of: candidate) else { continue }
            if candidate == pid || stat.parent == pid { total += Double(stat.ticks) / ticks }
        }
        return total
    }

    /// The parent, user + system ticks and waited-for children's user + system ticks of `pid`
    /// (fields 4, 14 to 17 of `/proc/<pid>/stat`, counted after the command's closing parenthesis).
    private static func stat(of pid: Int32) -> (parent: Int32, ticks: Int, childTicks: Int)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3).
        guard fields.count > 14, let parent = Int32(fields[1]), let user = Int(fields[11]),
            let system = Int(fields[12]), let childUser = Int(fields[13]), let childSystem = Int(fields[14])
        else { return nil }
        return (parent, user + system, childUser + childSystem)
    }

    private static func seconds(_ value: timeval) -> Double {
        Double(value.tv_sec) + Double(value.tv_usec) / 1e6
    }
}

/// A CPU clock (one of `ProcessCPU`'s) read before some work, to give the CPU time per unit of
/// that work after it.
struct CPUSpan {
    let clock: () -> Double
    let start: Double

    init(_ clock: @escaping () -> Double) {
        self.clock = clock
        start = clock()
    }

    /// Microseconds of CPU spent since the start, per unit of `count` (NaN when nothing was done).
    func microseconds(per count: Int) -> Double {
        count > 0 ? (clock() - start) / Double(count) * 1e6 : .nan
    }
}
