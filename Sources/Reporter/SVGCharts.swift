import Foundation

/// Inline SVG charts for the report: no scripts, no external resources.
enum SVGCharts {
  /// Ten distinguishable colours, one per class (class c uses c mod 10).
  static let classColors = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
  ]

  /// A scatter plot of `points` (x, y, class) with a y = x line, axes with ticks, a title and a
  /// legend naming each group.
  static func scatter(
    points: [(x: Double, y: Double, group: Int)], legend: [String], title: String, xLabel: String, yLabel: String
  ) -> String {
    let width = 460.0 + (legend.isEmpty ? 0 : 90)
    let height = 400.0
    let left = 56.0
    let bottom = 44.0
    let top = 30.0
    let right = 14.0 + (legend.isEmpty ? 0 : 90)
    let xs = points.map(\.x)
    let ys = points.map(\.y)
    let (x0, x1) = paddedRange(xs)
    let (y0, y1) = paddedRange(ys)
    func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (width - left - right) }
    func py(_ y: Double) -> Double { height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom) }
    var svg =
      #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(width))" height="\#(Int(height))" viewBox="0 0 \#(Int(width)) \#(Int(height))" role="img">"#
    svg += #"<title>\#(escape(title))</title>"#
    svg += #"<text x="\#(width / 2)" y="18" text-anchor="middle" font-size="13">\#(escape(title))</text>"#
    svg += axes(
      left: left, right: width - right, top: top, bottom: height - bottom, x0: x0, x1: x1, y0: y0, y1: y1, px: px,
      py: py)
    // y = x where it crosses the plot.
    let low = max(x0, y0)
    let high = min(x1, y1)
    if low < high {
      svg +=
        #"<line x1="\#(f(px(low)))" y1="\#(f(py(low)))" x2="\#(f(px(high)))" y2="\#(f(py(high)))" stroke='#999' stroke-dasharray="4 3"/>"#
    }
    for point in points {
      svg +=
        #"<circle cx="\#(f(px(point.x)))" cy="\#(f(py(point.y)))" r="2" fill="\#(classColors[point.group % 10])" fill-opacity="0.6"/>"#
    }
    for (index, name) in legend.enumerated() {
      let y = top + 14 * Double(index)
      svg += #"<rect x="\#(width - right + 12)" y="\#(y)" width="9" height="9" fill="\#(classColors[index % 10])"/>"#
      svg += #"<text x="\#(width - right + 26)" y="\#(y + 9)" font-size="11">\#(escape(name))</text>"#
    }
    svg +=
      #"<text x="\#(left + (width - left - right) / 2)" y="\#(height - 8)" text-anchor="middle" font-size="12">\#(escape(xLabel))</text>"#
    svg +=
      #"<text transform="translate(14 \#((top + height - bottom) / 2)) rotate(-90)" text-anchor="middle" font-size="12">\#(escape(yLabel))</text>"#
    return svg + "</svg>"
  }

  /// Horizontal bars with labels and values formatted as percentages of 1.
  static func bars(_ items: [(label: String, value: Double)], title: String) -> String {
    let rowHeight = 22.0
    let labelWidth = 200.0
    let barWidth = 260.0
    let height = 30 + rowHeight * Double(items.count)
    var svg =
      #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(labelWidth + barWidth + 70))" height="\#(Int(height))" role="img">"#
    svg += #"<title>\#(escape(title))</title><text x="0" y="16" font-size="13">\#(escape(title))</text>"#
    for (index, item) in items.enumerated() {
      let y = 26 + rowHeight * Double(index)
      let length = max(0, min(1, item.value)) * barWidth
      svg +=
        #"<text x="\#(labelWidth - 6)" y="\#(y + 14)" text-anchor="end" font-size="12">\#(escape(item.label))</text>"#
      svg +=
        #"<rect x="\#(labelWidth)" y="\#(y + 3)" width="\#(f(length))" height="\#(rowHeight - 6)" fill='#4c78a8'/>"#
      svg +=
        #"<text x="\#(labelWidth + length + 4)" y="\#(y + 14)" font-size="12">\#(String(format: "%.1f%%", 100 * item.value))</text>"#
    }
    return svg + "</svg>"
  }

  private static func axes(
    left: Double, right: Double, top: Double, bottom: Double, x0: Double, x1: Double, y0: Double, y1: Double,
    px: (Double) -> Double, py: (Double) -> Double
  ) -> String {
    var svg =
      #"<rect x="\#(left)" y="\#(top)" width="\#(right - left)" height="\#(bottom - top)" fill="none" stroke='#333'/>"#
    for tick in ticks(x0, x1) {
      svg += #"<line x1="\#(f(px(tick)))" y1="\#(bottom)" x2="\#(f(px(tick)))" y2="\#(bottom + 4)" stroke='#333'/>"#
      svg +=
        #"<text x="\#(f(px(tick)))" y="\#(bottom + 16)" text-anchor="middle" font-size="11">\#(label(tick))</text>"#
    }
    for tick in ticks(y0, y1) {
      svg += #"<line x1="\#(left - 4)" y1="\#(f(py(tick)))" x2="\#(left)" y2="\#(f(py(tick)))" stroke='#333'/>"#
      svg += #"<text x="\#(left - 6)" y="\#(f(py(tick) + 4))" text-anchor="end" font-size="11">\#(label(tick))</text>"#
    }
    return svg
  }

  /// Round tick values (1, 2 or 5 × 10^k apart) inside [low, high].
  static func ticks(_ low: Double, _ high: Double) -> [Double] {
    let span = high - low
    guard span > 0, span.isFinite else { return [low] }
    let raw = span / 5
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var tick = ceil(low / step) * step
    var result: [Double] = []
    // At most 12 ticks, and never a step too small to move a tick of this magnitude (logits near
    // 1e30 a few ulps apart), which would loop forever.
    while tick <= high + step * 1e-9 && result.count < 12 {
      result.append(abs(tick) < step * 1e-9 ? 0 : tick)
      guard tick + step > tick else { break }
      tick += step
    }
    return result
  }

  private static func paddedRange(_ values: [Double]) -> (Double, Double) {
    guard let low = values.min(), let high = values.max() else { return (0, 1) }
    if high - low < 1e-12 { return (low - 1, high + 1) }
    let pad = 0.04 * (high - low)
    return (low - pad, high + pad)
  }

  private static func label(_ value: Double) -> String {
    abs(value) >= 1000 || (abs(value) < 0.01 && value != 0)
      ? String(format: "%.1e", value) : String(format: "%g", (value * 1000).rounded() / 1000)
  }

  private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// `text` with the five HTML/XML special characters escaped.
func escape(_ text: String) -> String {
  var out = ""
  for character in text {
    switch character {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&#39;"
    default: out.append(character)
    }
  }
  return out
}
