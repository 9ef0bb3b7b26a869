/// Median, p95 and range of repeated runs.
struct Summary: Sendable, Codable, Hashable {
    var count: Int
    var median: Double
    var p95: Double
    var min: Double
    var max: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        median = Self.percentile(sorted, 0.5)
        p95 = Self.percentile(sorted, 0.95)
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
    }

    /// Linear interpolation between closest ranks (the common "type 7" definition).
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = p * Double(sorted.count - 1)
        let lower = Int(position)
        let upper = Swift.min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - Double(lower))
    }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}

/// Times `body` on the continuous clock, in milliseconds.
func measure<T>(_ body: () throws -> T) rethrows -> (ms: Double, value: T) {
    let clock = ContinuousClock()
    let start = clock.now
    let value = try body()
    return ((clock.now - start).milliseconds, value)
}
