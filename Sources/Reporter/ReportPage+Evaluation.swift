import Evaluation
import Foundation

/// The report's section on `entk evaluate`: the LDS of each method with its interval, and the
/// predicted against the actual margins of a few test points.
extension ReportPage {
  func evaluationSection() -> String {
    mislabelSection() + ldsSection() + removalSection()
  }

  private func removalSection() -> String {
    guard let removal = bundle.metrics.evaluation?.removal, !removal.points.isEmpty else { return "" }
    func signed(_ value: Double) -> String { String(format: "%+.4f", value) }
    var html = "<h2>Remove and retrain</h2>\n<table>\n"
    html +=
      "<tr><th>test point</th><th>label</th><th>margin, all data</th><th>change without top-\(removal.topK) proponents</th><th>prediction flipped</th><th>change without as many random points</th><th>prediction flipped</th></tr>\n"
    for p in removal.points {
      html +=
        "<tr><td>#\(p.testIndex)</td><td>\(p.label)</td><td>\(number(p.fullMargin))</td><td>\(signed(p.proponents.change))</td><td>\(p.proponents.flipped ? "yes" : "no")</td><td>\(signed(p.random.change))</td><td>\(p.random.flipped ? "yes" : "no")</td></tr>\n"
    }
    let count = Double(removal.points.count)
    let meanProponents = removal.points.map(\.proponents.change).reduce(0, +) / count
    let meanRandom = removal.points.map(\.random.change).reduce(0, +) / count
    html +=
      "</table>\n<p class=\"muted\">Proponents by \(escape(removal.method)) (largest positive scores for the label). Mean margin change \(signed(meanProponents)) without the proponents, \(signed(meanRandom)) without random points (control seed \(removal.controlSeed)); every model trained with the same settings and seed.</p>\n"
    return html
  }

  private func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }

  private func mislabelSection() -> String {
    guard let mislabel = bundle.metrics.evaluation?.mislabel else { return "" }
    let inspected = mislabel.methods.first?.curve.inspections.map(\.inspected) ?? []
    var html =
      "<h2>Mislabel detection</h2>\n<table>\n<tr><th class=\"l\">method</th><th class=\"l\">ranked by</th><th>AUC</th>"
    html += inspected.map { "<th>found after \(Int(($0 * 100).rounded()))%</th>" }.joined() + "</tr>\n"
    for method in mislabel.methods {
      html +=
        "<tr><td class=\"l\">\(escape(method.method))</td><td class=\"l\">\(escape(method.measure))</td><td>\(number(method.curve.auc))</td>"
      html +=
        method.curve.inspections.map { "<td>\(String(format: "%.1f%%", 100 * $0.found))</td>" }.joined() + "</tr>\n"
    }
    let first = mislabel.methods.first?.curve
    html +=
      "</table>\n<p class=\"muted\">\(first?.flaggedCount ?? 0) of \(first?.count ?? 0) training labels flipped (fraction \(mislabel.fraction), seed \(mislabel.seed)) before training; training points ranked by self-influence, highest first.</p>\n"
    return html
  }

  private func ldsSection() -> String {
    guard let evaluation = bundle.metrics.evaluation, let lds = evaluation.lds, !lds.isEmpty,
      let r = evaluation.retrained
    else { return "" }
    var html = "<h2>Linear datamodeling score</h2>\n<table>\n"
    html += "<tr><th class=\"l\">method</th><th>LDS</th><th>95% interval</th><th>test points with ρ defined</th></tr>\n"
    for score in lds {
      let interval = score.interval.map { "[\(number($0.lower)), \(number($0.upper))]" } ?? "–"
      html +=
        "<tr><td class=\"l\">\(escape(score.method))</td><td>\(number(score.value))</td><td>\(interval)</td><td>\(score.definedCount) of \(score.testCount)</td></tr>\n"
    }
    html += "</table>\n"
    html +=
      "<p class=\"muted\">\(r.subsetCount) models retrained on random subsets of \(r.subsetSize) training points (α = \(r.fraction), seed \(r.seed)) in \(escape(r.folder)). For each test point, Spearman ρ over the subsets between the summed scores of the subset's training points and the retrained model's margin; LDS is the mean ρ, its interval a percentile bootstrap over test points.</p>\n"
    guard let first = lds.first, !first.examples.isEmpty else { return html }
    // Standardised per test point, so that one plot holds points of different scales and a
    // perfect linear prediction lies on y = x.
    var points: [(x: Double, y: Double, group: Int)] = []
    for (group, example) in first.examples.enumerated() {
      let actual = Self.standardised(example.actual)
      let predicted = Self.standardised(example.predicted)
      for k in actual.indices { points.append((actual[k], predicted[k], group)) }
    }
    html += SVGCharts.scatter(
      points: points,
      legend: first.examples.map { "test #\($0.testIndex) ρ \(number($0.spearman))" },
      title: "\(first.method): predicted vs actual margin, one dot per retrained model",
      xLabel: "actual margin (standardised per test point)", yLabel: "summed scores (standardised)")
    html += "\n"
    return html
  }

  /// (v − mean) / standard deviation, or zeros for constant values.
  static func standardised(_ values: [Double]) -> [Double] {
    guard !values.isEmpty else { return [] }
    let mean = values.reduce(0, +) / Double(values.count)
    let deviation = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
    return values.map { deviation > 0 ? ($0 - mean) / deviation : 0 }
  }
}
