import Foundation
import Kernels

/// Prints a kernel job's progress on stderr: at most one line a second, and always the last tile.
final class TileProgressPrinter {
  private let prefix: String
  private var lastLine = Date.distantPast

  /// - Parameter prefix: starts every line, e.g. "kernel" or "attribute: train kernel".
  init(prefix: String) { self.prefix = prefix }

  func report(_ progress: TileProgress) {
    guard Date().timeIntervalSince(lastLine) >= 1 || progress.done == progress.total else { return }
    lastLine = Date()
    let eta = progress.remaining.map { String(format: "%.0fs", $0) } ?? "?"
    printError(
      String(
        format: "%@: tile %d/%d  %.2f tiles/s  elapsed %.1fs  ETA %@", prefix, progress.done, progress.total,
        progress.rate, progress.elapsed, eta))
  }
}
