import ArrayIO
import Attribution
import Faithfulness
import Foundation

/// `report.html`: one self-contained page (inline CSS, inline SVG, pictures as `data:` URIs; no
/// scripts, no network) rendered from a bundle's contents alone.
///
/// Samples are shown by their text when the bundle has texts, else as pictures when their inputs
/// are image-shaped.
public struct ReportPage {
  let bundle: AttributionBundle
  /// How many test points get a panel with their neighbours.
  var examples = 8
  /// How many proponents and opponents each panel shows.
  var neighbours = 5

  public init(bundle: AttributionBundle) {
    self.bundle = bundle
  }

  /// The page's HTML.
  public func html() -> String {
    let m = bundle.manifest
    var page = """
      <!DOCTYPE html>
      <html lang="en"><head><meta charset="utf-8">
      <title>entk attribution report</title>
      <style>
      body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1100px}
      h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
      table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}
      th{background:#f4f4f4}td.l,th.l{text-align:left}.muted{color:#666;font-size:13px}
      img.px{image-rendering:pixelated;border:1px solid #bbb;vertical-align:middle}
      .example{display:flex;gap:18px;align-items:flex-start;border-bottom:1px solid #eee;padding:10px 0}
      .row{display:flex;gap:6px;flex-wrap:wrap}.cell{font-size:11px;text-align:center;width:84px}
      .pro{color:#1a7f37}.opp{color:#b42318}
      .text{font-size:15px;margin:0 0 6px}table.texts td{font-size:13px}table.texts td.t{text-align:left;white-space:normal}
      </style></head><body>
      <h1>entk attribution report</h1>
      <p class="muted">\(escape(describeRun(m)))</p>

      """
    page += faithfulnessSection()
    page += scatterSection()
    page += layerSection()
    page += heatmapSection()
    page += examplesSection()
    page += evaluationSection()
    page +=
      "<p class=\"muted\">Written by entk \(escape(m.entkVersion)), bundle format \(m.formatVersion), \(escape(m.createdAt)).</p>\n</body></html>\n"
    return page
  }

  private func describeRun(_ m: Manifest) -> String {
    var parts: [String] = []
    if let models = m.models ?? m.model.map({ [$0] }), !models.isEmpty { parts.append(ModelList(models: models).text) }
    parts.append("kernel \(m.kernel.kind)" + (m.kernel.layerCount > 1 ? " over \(m.kernel.layerCount) layers" : ""))
    parts.append(
      "N = \(m.kernel.trainCount) training points, M = \(m.kernel.testCount) test points, C = \(bundle.attributions.classCount) classes"
    )
    return parts.joined(separator: " · ")
  }

  private func faithfulnessSection() -> String {
    let f = bundle.metrics.faithfulness
    let fit = bundle.metrics.fit
    let reference: String
    switch f.referenceClass {
    case "label": reference = "the true class"
    case "class-1": reference = "class 1"
    default: reference = "the network's predicted class (no test labels)"
    }
    var html = "<h2>Faithfulness</h2>\n<table>\n"
    html += "<tr><th class=\"l\">measure</th><th>value</th></tr>\n"
    html += row(
      "Kendall τ-b, softmax probability of \(reference) (paper's measure)", number(f.referenceProbability.kendallTau))
    html += row("Pearson r, same probability", number(f.referenceProbability.pearson))
    html += row("Kendall τ-b, all logits pooled", number(f.pooledLogits.kendallTau))
    html += row("Pearson r, all logits pooled", number(f.pooledLogits.pearson))
    html += row("predicted-class agreement", percent(f.predictionAgreement))
    html += row("network test accuracy", percent(f.networkAccuracy))
    html += row("surrogate test accuracy", percent(f.surrogateAccuracy))
    html += row(
      "accuracy difference (surrogate − network)",
      f.accuracyDifference.map { String(format: "%+.2f points", 100 * $0) } ?? "–")
    html += "</table>\n"
    let settings = bundle.metrics.settings
    html +=
      "<p class=\"muted\">Surrogate: kGLM fitted to \(bundle.metrics.target == "labels" ? "the training labels" : "the network's predictions") "
    html += "(α = \(settings.alpha), \(settings.classWeighting.rawValue) class weights), "
    html +=
      fit.converged
      ? "converged in \(fit.iterations) L-BFGS iterations (‖∇‖∞ = \(String(format: "%.2e", fit.gradientNorm)))"
      : "<strong>not converged</strong> (\(fit.stopReason) after \(fit.iterations) iterations, ‖∇‖∞ = \(String(format: "%.2e", fit.gradientNorm)))"
    html += "; training accuracy on its targets \(percent(fit.trainAccuracy)).</p>\n"
    html += "<table><tr><th class=\"l\">class</th>" + (0..<f.classCount).map { "<th>\($0)</th>" }.joined() + "</tr>\n"
    html +=
      "<tr><td class=\"l\">τ-b of logits</td>" + f.perClassLogits.map { "<td>\(number($0.kendallTau))</td>" }.joined()
      + "</tr>\n"
    html +=
      "<tr><td class=\"l\">Pearson r of logits</td>"
      + f.perClassLogits.map { "<td>\(number($0.pearson))</td>" }.joined() + "</tr>\n</table>\n"
    return html
  }

  private func scatterSection() -> String {
    let classCount = bundle.attributions.classCount
    let network = bundle.networkTestLogits.float64Values()
    let surrogate = bundle.surrogateTestLogits.float64Values()
    // At most 4000 dots, every k-th, so the page stays small.
    let stride = max(1, network.count / 4000)
    let points = Swift.stride(from: 0, to: min(network.count, surrogate.count), by: stride).map {
      (x: network[$0], y: surrogate[$0], group: $0 % classCount)
    }
    let tau = number(bundle.metrics.faithfulness.pooledLogits.kendallTau)
    var html = "<h2>Surrogate vs network logits</h2>\n"
    html += SVGCharts.scatter(
      points: points, legend: (0..<classCount).map { "class \($0)" },
      title: "all test logits, coloured by class (τ-b = \(tau))", xLabel: "network logit", yLabel: "surrogate logit")
    html += "\n<p class=\"muted\">One dot per test point and class; dashed line: y = x.</p>\n"
    return html
  }

  private func layerSection() -> String {
    let a = bundle.attributions
    guard a.layerCount > 1 else { return "" }
    // Each layer's share of the predicted class's kernel part, |layer sum| / Σ_l |layer sum|,
    // averaged over the explained test points.
    var shares = [Double](repeating: 0, count: a.layerCount)
    var counted = 0
    for point in a.testPoints {
      let sums = point.classes[point.surrogatePrediction].layerContributions
      let total = sums.map(abs).reduce(0, +)
      guard total > 0 else { continue }
      for l in 0..<a.layerCount { shares[l] += abs(sums[l]) / total }
      counted += 1
    }
    let names = a.layerNames ?? (0..<a.layerCount).map { "layer \($0)" }
    let items = (0..<a.layerCount).map { (label: names[$0], value: counted > 0 ? shares[$0] / Double(counted) : 0) }
    var html = "<h2>Per-layer shares (NFT-K)</h2>\n"
    html += SVGCharts.bars(items, title: "mean share of the predicted class's logit, by layer")
    html +=
      "\n<p class=\"muted\">Share of layer l at a test point: |Σᵢ W[c, l, i] k_l(x, xᵢ)| over the sum of these magnitudes across layers, for the surrogate's predicted class c; averaged over \(counted) test points.</p>\n"
    return html
  }

  private func heatmapSection() -> String {
    guard let labels = try? bundle.trainLabels.int64Values().map({ Int($0) }),
      let svg = KernelHeatmap.svg(kernel: bundle.trainKernel, labels: labels)
    else { return "" }
    return "<h2>Train kernel, sorted by class</h2>\n" + svg
      + "\n<p class=\"muted\">Block means of the train×train kernel (summed over layers), rows and columns ordered by training label.</p>\n"
  }

  private func examplesSection() -> String {
    let a = bundle.attributions
    let trainPictures = bundle.trainInputs.flatMap(InputPictures.init)
    let testPictures = bundle.testInputs.flatMap(InputPictures.init)
    let trainTexts = bundle.texts?.train
    var html = "<h2>Explanations of the first test points</h2>\n"
    html +=
      "<p class=\"muted\">For the surrogate's predicted class: the training points that push it up most (proponents, score &gt; 0) and down most (opponents, score &lt; 0). Score = W[c, i]·k(x, xᵢ) in logit units.</p>\n"
    for point in a.testPoints.prefix(examples) {
      let c = point.surrogatePrediction
      let attribution = point.classes[c]
      html += "<div class=\"example\"><div class=\"cell\" style=\"width:110px\">"
      if bundle.texts?.test == nil, let testPictures, point.testIndex < testPictures.count {
        html += testPictures.img(point.testIndex, size: 96, alt: "test point \(point.testIndex)") + "<br>"
      }
      html += "test #\(point.testIndex)<br>label \(point.label.map(String.init) ?? "?")<br>"
      html += "network → \(point.networkPrediction.map(String.init) ?? "?")<br>surrogate → \(c)<br>"
      html +=
        "logit \(String(format: "%.3f", attribution.logit))<br>= bias \(String(format: "%.3f", attribution.bias)) + Σ \(String(format: "%.3f", attribution.contributionSum))</div><div>"
      if let texts = bundle.texts?.test, point.testIndex < texts.count {
        html += "<p class=\"text\">\(SampleTexts.html(texts[point.testIndex]))</p>"
      }
      for (kind, style, entries) in [
        ("proponents", "pro", attribution.proponents), ("opponents", "opp", attribution.opponents),
      ] {
        html += "<div class=\"\(style)\">\(kind) of class \(c)</div>"
        html +=
          trainTexts.map { textTable(entries.prefix(neighbours), texts: $0) }
          ?? neighbourRow(entries.prefix(neighbours), pictures: trainPictures)
      }
      html += "</div></div>\n"
    }
    return html
  }

  private func neighbourRow(_ entries: ArraySlice<Contribution>, pictures: InputPictures?) -> String {
    guard !entries.isEmpty else { return "<div class=\"muted\">none</div>" }
    var html = "<div class=\"row\">"
    for entry in entries {
      html += "<div class=\"cell\">"
      if let pictures, entry.trainIndex < pictures.count {
        html += pictures.img(entry.trainIndex, size: 64, alt: "training point \(entry.trainIndex)") + "<br>"
      }
      html +=
        "train #\(entry.trainIndex)<br>label \(entry.trainLabel.map(String.init) ?? "?") · \(String(format: "%+.3f", entry.score))</div>"
    }
    return html + "</div>"
  }

  /// One line per training point: score, label, index and text.
  private func textTable(_ entries: ArraySlice<Contribution>, texts: [String]) -> String {
    guard !entries.isEmpty else { return "<div class=\"muted\">none</div>" }
    var html = "<table class=\"texts\">"
    for entry in entries {
      let text = entry.trainIndex < texts.count ? SampleTexts.html(texts[entry.trainIndex]) : ""
      html +=
        "<tr><td>\(String(format: "%+.3f", entry.score))</td><td>label \(entry.trainLabel.map(String.init) ?? "?")</td>"
        + "<td>train #\(entry.trainIndex)</td><td class=\"t\">\(text)</td></tr>"
    }
    return html + "</table>"
  }

  private func row(_ name: String, _ value: String) -> String {
    "<tr><td class=\"l\">\(escape(name))</td><td>\(value)</td></tr>\n"
  }

  private func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }

  private func percent(_ value: Double?) -> String { value.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }
}
