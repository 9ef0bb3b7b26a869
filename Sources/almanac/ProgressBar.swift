import Foundation

/// A one-line progress bar on stderr, drawn only when stderr is a terminal (never into a log or a pipe).
struct ProgressBar {
    let total: Int
    let width = 30
    let isVisible = isatty(STDERR_FILENO) == 1

    /// Redraws the bar at `done` of `total`.
    func show(_ done: Int) {
        guard self.isVisible, self.total > 0 else { return }
        let filled = self.width * min(done, self.total) / self.total
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: self.width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(self.total)".utf8))
    }

    /// Ends the bar's line.
    func finish() {
        guard self.isVisible, self.total > 0 else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
