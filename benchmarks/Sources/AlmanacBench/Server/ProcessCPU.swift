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
    static func postgresSeconds(dataDirectory: URL) -> Double {
        guard
            let text = try? String(
                contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"),
                encoding: .utf8
            ),
            let line = text.split(separator: "\n").first, let postmaster = Int32(line),
            let own = stat(of: postmaster)
        else { return .nan }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var total = Double(own.ticks + own.childTicks) / ticks
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let candidate = Int32(entry), let stat = stat(of: candidate), stat.parent == postmaster else {
                continue
            }
            total += Double(stat.ticks) / ticks
        }
        return total
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
