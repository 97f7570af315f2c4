import ArgumentParser
import Attribution
import Foundation
import Reporter

struct ExplainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Print the explanation of one test point from a bundle.",
    discussion: """
      Shows the test point's label and predictions, and for the surrogate's predicted class (or \
      --class) its logit split into bias plus training-point contributions, with the top \
      proponents and opponents, with their texts when the bundle has them.
      """)

  @Argument(help: "Bundle folder written by `entk attribute`.") var bundle: String
  @Option(name: .customLong("test-index"), help: "Row of the test point (0-based).") var testIndex: Int
  @Option(name: .customLong("class"), help: "Class to explain (default: the surrogate's prediction).") var classIndex:
    Int?
  @Flag(help: "Print the test point's full attribution record as JSON.") var json = false

  func run() throws {
    let attributions = try AttributionBundle.readAttributions(from: URL(fileURLWithPath: bundle))
    guard let point = attributions.testPoints.first(where: { $0.testIndex == testIndex }) else {
      let range =
        attributions.testPoints.isEmpty
        ? "none"
        : "test indices \(attributions.testPoints.map(\.testIndex).min() ?? 0)…\(attributions.testPoints.map(\.testIndex).max() ?? 0)"
      throw ReporterError.noSuchTestPoint(index: testIndex, available: range)
    }
    if json {
      try printJSON(point)
      return
    }
    let c = classIndex ?? point.surrogatePrediction
    guard c >= 0, c < point.classes.count else {
      throw ReporterError.noSuchClass(index: c, classCount: point.classes.count)
    }
    let attribution = point.classes[c]
    let texts = try AttributionBundle.readTexts(from: URL(fileURLWithPath: bundle), attributions: attributions)
    func text(_ value: Int?) -> String { value.map(String.init) ?? "?" }
    print(
      "test point #\(point.testIndex)  label \(text(point.label))  network → \(text(point.networkPrediction))  surrogate → \(point.surrogatePrediction)"
    )
    if let sentence = texts?.test?[point.testIndex] { print("  \(SampleTexts.terminal(sentence))") }
    print(
      String(
        format: "class %d: surrogate logit %.4f = bias %.4f + contributions %.4f", c, attribution.logit,
        attribution.bias, attribution.contributionSum))
    if attributions.layerCount > 1 {
      let names = attributions.layerNames ?? (0..<attributions.layerCount).map { "layer \($0)" }
      for (name, value) in zip(names, attribution.layerContributions) {
        print(
          "  " + name.padding(toLength: max(24, name.count), withPad: " ", startingAt: 0)
            + String(format: " %+.4f", value))
      }
    }
    for (title, list) in [("proponents", attribution.proponents), ("opponents", attribution.opponents)] {
      print("\(title):")
      if list.isEmpty { print("  none") }
      for (rank, entry) in list.enumerated() {
        let label = text(entry.trainLabel).padding(toLength: 4, withPad: " ", startingAt: 0)
        print(
          String(format: "  %2d. train #%-6d", rank + 1, entry.trainIndex) + " label \(label)"
            + String(format: " score %+.4f", entry.score)
            + (texts?.train.map { "  " + SampleTexts.terminal($0[entry.trainIndex]) } ?? ""))
      }
    }
  }
}
