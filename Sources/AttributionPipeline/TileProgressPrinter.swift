import Foundation
import Kernels

/// Logs a kernel job's progress: at most one line a second, and always the last tile.
public final class TileProgressPrinter {
  private let prefix: String
  private let log: (String) -> Void
  private var lastLine = Date.distantPast

  /// - Parameters:
  ///   - prefix: starts every line, e.g. "kernel" or "attribute: train kernel".
  ///   - log: receives the lines (the CLI prints them on stderr).
  public init(prefix: String, log: @escaping (String) -> Void) {
    self.prefix = prefix
    self.log = log
  }

  /// Logs `progress` unless a line was logged less than a second ago.
  public func report(_ progress: TileProgress) {
    guard Date().timeIntervalSince(lastLine) >= 1 || progress.done == progress.total else { return }
    lastLine = Date()
    let eta = progress.remaining.map { String(format: "%.0fs", $0) } ?? "?"
    log(
      String(
        format: "%@: tile %d/%d  %.2f tiles/s  elapsed %.1fs  ETA %@", prefix, progress.done, progress.total,
        progress.rate, progress.elapsed, eta))
  }
}
