import Foundation

/// What the results were measured on.
enum MachineInfo {
    static func current() -> [String: String] {
        var info: [String: String] = [
            "cores": "\(ProcessInfo.processInfo.activeProcessorCount)",
            "memory_gib": "\(ProcessInfo.processInfo.physicalMemory >> 30)",
            "os": ProcessInfo.processInfo.operatingSystemVersionString,
            "loadavg_start": loadAverage(),
        ]
        if let cpu = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = cpu.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let name = line.split(separator: ":", maxSplits: 1).last
        {
            info["cpu"] = name.trimmingCharacters(in: .whitespaces)
        }
        let environment = ProcessInfo.processInfo.environment
        if let swift = environment["ALMANAC_BENCH_SWIFT"], !swift.isEmpty {
            info["swift"] = swift
        }
        if let librdkafka = environment["ALMANAC_BENCH_LIBRDKAFKA"], !librdkafka.isEmpty {
            info["librdkafka"] = librdkafka
        }
        if let moto = environment["ALMANAC_BENCH_MOTO"], !moto.isEmpty {
            info["moto"] = moto
        }
        if let commit = environment["ALMANAC_BENCH_ROOT_COMMIT"], !commit.isEmpty {
            info["almanac_commit"] = commit
        }
        return info
    }

    /// The 1-, 5- and 15-minute load averages (another build on the machine shows here).
    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
