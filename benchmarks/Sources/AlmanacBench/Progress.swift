import Foundation

/// Progress on stderr (stdout carries the report), with the time since the run started.
enum Progress {
    private static let start = ContinuousClock.now

    static func log(_ message: String) {
        let elapsed = (ContinuousClock.now - start).milliseconds / 1000
        FileHandle.standardError.write(Data("[\(String(format: "%7.1f", elapsed))s] \(message)\n".utf8))
    }
}
