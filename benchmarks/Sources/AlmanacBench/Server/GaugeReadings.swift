import CoreMetrics
import Synchronization

/// A metrics backend that keeps the last value of every gauge (the in-process server's, e.g.
/// `almanac_feed_cache_bytes`) and drops everything else. Bootstrapped once, before the server starts.
final class GaugeReadings: MetricsFactory, Sendable {
    static let shared = GaugeReadings()

    private let values = Mutex<[String: Double]>([:])

    /// The last value recorded by gauges of `label` (summed over their dimensions); nil: never recorded.
    func value(_ label: String) -> Double? {
        values.withLock { values in
            let matching = values.filter { $0.key == label || $0.key.hasPrefix(label + "{") }
            return matching.isEmpty ? nil : matching.values.reduce(0, +)
        }
    }

    fileprivate func set(_ key: String, _ value: Double) {
        values.withLock { $0[key] = value }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        NOOPMetricsHandler.instance
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard !aggregate else { return NOOPMetricsHandler.instance }
        let key =
            dimensions.isEmpty ? label : label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        return Handler(key: key, readings: self)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    private final class Handler: RecorderHandler, Sendable {
        let key: String
        let readings: GaugeReadings

        init(key: String, readings: GaugeReadings) {
            self.key = key
            self.readings = readings
        }

        func record(_ value: Int64) { readings.set(key, Double(value)) }
        func record(_ value: Double) { readings.set(key, value) }
    }
}
