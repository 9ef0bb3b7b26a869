import Foundation

extension Timestamp {
    /// The wall clock, read only when a command is accepted; folds never call it.
    public static func now() -> Timestamp {
        Timestamp(microseconds: Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()))
    }
}
