import Foundation

/// One measured series point: the samples of repeated runs and their summary.
struct Measurement: Sendable, Codable {
    var scenario: String
    var series: String
    var n: Int?
    var k: Int?
    var unit: String
    var samples: [Double]
    var summary: Summary
    /// Extra facts of the point (e.g. wrk's latency percentiles, entries written).
    var details: [String: String] = [:]

    init(
        scenario: String,
        series: String,
        n: Int? = nil,
        k: Int? = nil,
        unit: String = "ms",
        samples: [Double],
        details: [String: String] = [:]
    ) {
        self.scenario = scenario
        self.series = series
        self.n = n
        self.k = k
        self.unit = unit
        self.samples = samples
        self.summary = Summary(samples)
        self.details = details
    }
}

/// A full/incremental ratio computed from medians of the same run.
struct Ratio: Sendable, Codable {
    var scenario: String
    var n: Int
    var change: String
    var full: Double
    var incremental: Double
    var ratio: Double { incremental > 0 ? full / incremental : .nan }

    enum CodingKeys: String, CodingKey { case scenario, n, change, full, incremental, ratio }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(scenario, forKey: .scenario)
        try container.encode(n, forKey: .n)
        try container.encode(change, forKey: .change)
        try container.encode(full, forKey: .full)
        try container.encode(incremental, forKey: .incremental)
        try container.encode(ratio, forKey: .ratio)
    }

    init(scenario: String, n: Int, change: String, full: Double, incremental: Double) {
        self.scenario = scenario
        self.n = n
        self.change = change
        self.full = full
        self.incremental = incremental
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        scenario = try container.decode(String.self, forKey: .scenario)
        n = try container.decode(Int.self, forKey: .n)
        change = try container.decode(String.self, forKey: .change)
        full = try container.decode(Double.self, forKey: .full)
        incremental = try container.decode(Double.self, forKey: .incremental)
    }
}

/// A target of issue #4 and what this run reached.
struct TargetCheck: Sendable, Codable {
    var target: String
    var measured: String
    /// nil when the run did not measure it.
    var reached: Bool?
}

/// Everything a run produced, written as results.json.
struct RunResults: Sendable, Codable {
    var date: String
    var machine: [String: String]
    var options: [String: String]
    var measurements: [Measurement] = []
    var ratios: [Ratio] = []
    var targets: [TargetCheck] = []
    var notes: [String] = []

    func find(_ scenario: String, _ series: String, n: Int? = nil, k: Int? = nil) -> Measurement? {
        measurements.first { $0.scenario == scenario && $0.series == series && $0.n == n && $0.k == k }
    }
}
