import EventStore
import Metrics

/// `almanac_job_duration_seconds` by mode and outcome.
enum JobMetrics {
    enum Outcome: String {
        /// Done (a `full` job whose regeneration equals the projection).
        case success
        /// A `full` job whose regeneration differs from the incremental projection.
        case mismatch
        /// An attempt that failed (retried until the job's attempts are used up).
        case failure
    }

    static func finished(mode: JobTable.Kind, outcome: Outcome, seconds: Double) {
        Metrics.Timer(
            label: "almanac_job_duration_seconds",
            dimensions: [("mode", mode.rawValue), ("outcome", outcome.rawValue)]
        ).recordNanoseconds(Int64(max(0, seconds) * 1e9))
    }

    static func finished(mode: JobTable.Kind, outcome: Outcome, since started: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - started).components
        finished(
            mode: mode,
            outcome: outcome,
            seconds: Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        )
    }
}
