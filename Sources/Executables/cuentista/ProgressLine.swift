import Foundation

/// The CLI's one progress display, on standard error: on a terminal a bar redrawn in place;
/// into a log file (or a pipe) a line every few seconds and the last one, never a flood of
/// carriage returns. Used by `train`, `prepare` and `jobs follow`.
final class ProgressLine {
    let interactive = isatty(2) == 1
    private var lastLine = Date.distantPast
    private var barShown = false
    static let width = 24

    /// Shows `prefix [bar] text` for a task `fraction` done; `last` forces the line out.
    func show(_ fraction: Double, prefix: String = "", _ text: String, last: Bool = false) {
        guard interactive || last || Date().timeIntervalSince(lastLine) > 5 else { return }
        lastLine = Date()
        let filled = max(0, min(Self.width, Int(fraction * Double(Self.width))))
        let line = "\(prefix)[\(String(repeating: "#", count: filled) + String(repeating: "-", count: Self.width - filled))] \(text)"
        // A line longer than the terminal wraps, and each redraw then stacks another one: cut
        // it to the width (read each time: the window may be resized) and clear what is left.
        write(interactive ? "\r" + String(line.prefix(Self.terminalColumns() - 1)) + "\u{1B}[K" : line + "\n")
        barShown = interactive
    }

    /// A line of its own (an evaluation, a checkpoint), below the bar.
    func note(_ line: String) {
        write((barShown ? "\n" : "") + line + "\n")
        barShown = false
    }

    /// Ends the bar's line.
    func finish() {
        if barShown { write("\n") }
        barShown = false
    }

    /// `write(_:)` would trap when stderr is gone (a closed pipe); progress is not worth
    /// stopping the work for, so a failed write is dropped.
    private func write(_ text: String) { try? FileHandle.standardError.write(contentsOf: Data(text.utf8)) }

    /// Columns of the terminal on standard error (80 when it does not say).
    static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(2, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// h:mm:ss or m:ss.
    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let s = Int(seconds)
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
