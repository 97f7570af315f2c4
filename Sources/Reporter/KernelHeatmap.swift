import ArrayIO
import Foundation

/// The train×train kernel as a picture, rows and columns sorted by class, block-averaged down to
/// at most `maxCells` cells a side, with lines at class boundaries.
enum KernelHeatmap {
  /// An inline SVG, or nil when the kernel is not square.
  /// - Parameters:
  ///   - kernel: float32 [N, N] or [L, N, N] (layers are summed).
  ///   - labels: class per training point, [N].
  static func svg(kernel: NPYArray, labels: [Int], maxCells: Int = 240) -> String? {
    let shape = kernel.shape
    guard shape.count == 2 || shape.count == 3, let n = shape.last, shape[shape.count - 2] == n, labels.count == n,
      n >= 1
    else {
      return nil
    }
    let layers = shape.count == 3 ? shape[0] : 1
    let values = kernel.float32Values()
    let order = (0..<n).sorted { labels[$0] != labels[$1] ? labels[$0] < labels[$1] : $0 < $1 }
    let cells = min(n, maxCells)
    // bin b holds sorted positions [b·n/cells, (b+1)·n/cells).
    let binOf = (0..<n).map { $0 * cells / n }
    var sums = [Double](repeating: 0, count: cells * cells)
    var counts = [Double](repeating: 0, count: cells * cells)
    for (a, i) in order.enumerated() {
      for (b, j) in order.enumerated() {
        var value = 0.0
        for l in 0..<layers { value += Double(values[(l * n + i) * n + j]) }
        let cell = binOf[a] * cells + binOf[b]
        sums[cell] += value
        counts[cell] += 1
      }
    }
    let means = zip(sums, counts).map { $0 / max($1, 1) }
    let low = means.min() ?? 0
    let high = means.max() ?? 1
    var pixels = [UInt8]()
    pixels.reserveCapacity(cells * cells * 3)
    for value in means { pixels.append(contentsOf: color(high > low ? (value - low) / (high - low) : 0.5)) }
    let uri = PNGImage(width: cells, height: cells, channels: 3, pixels: pixels).dataURI()
    let size = 360.0
    var svg =
      #"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="\#(Int(size) + 150)" height="\#(Int(size) + 20)" role="img">"#
    svg += "<title>train kernel sorted by class</title>"
    svg +=
      #"<image x="0" y="0" width="\#(Int(size))" height="\#(Int(size))" preserveAspectRatio="none" style="image-rendering:pixelated" href="\#(uri)" xlink:href="\#(uri)"/>"#
    // Class boundaries and class names along the right edge.
    var start = 0
    while start < n {
      var end = start
      while end < n && labels[order[end]] == labels[order[start]] { end += 1 }
      let y0 = size * Double(start) / Double(n)
      let y1 = size * Double(end) / Double(n)
      if start > 0 {
        svg +=
          #"<line x1="0" y1="\#(String(format: "%.1f", y0))" x2="\#(Int(size))" y2="\#(String(format: "%.1f", y0))" stroke="white" stroke-width="0.6"/>"#
        svg +=
          #"<line x1="\#(String(format: "%.1f", y0))" y1="0" x2="\#(String(format: "%.1f", y0))" y2="\#(Int(size))" stroke="white" stroke-width="0.6"/>"#
      }
      svg +=
        #"<text x="\#(Int(size) + 6)" y="\#(String(format: "%.1f", (y0 + y1) / 2 + 4))" font-size="11">class \#(labels[order[start]])</text>"#
      start = end
    }
    svg +=
      #"<text x="\#(Int(size) + 6)" y="\#(Int(size) + 14)" font-size="10">\#(String(format: "%.3g … %.3g", low, high))</text>"#
    return svg + "</svg>"
  }

  /// A perceptually ordered dark-blue → teal → yellow ramp (viridis-like) at t ∈ [0, 1].
  static func color(_ t: Double) -> [UInt8] {
    let stops: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
    let position = max(0, min(1, t)) * Double(stops.count - 1)
    let index = min(Int(position), stops.count - 2)
    let fraction = position - Double(index)
    let (a, b) = (stops[index], stops[index + 1])
    return [
      UInt8((a.0 + (b.0 - a.0) * fraction).rounded()), UInt8((a.1 + (b.1 - a.1) * fraction).rounded()),
      UInt8((a.2 + (b.2 - a.2) * fraction).rounded()),
    ]
  }
}
