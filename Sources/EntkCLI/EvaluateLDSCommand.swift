import ArgumentParser
import ArrayIO
import AttributionPipeline
import Evaluation
import Foundation
import Reporter

struct EvaluateLDSCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lds",
    abstract: "Score bundles' attributions by the linear datamodeling score against retrained models.",
    discussion: """
      Retrains the unfinished subsets of DIR first (as `entk evaluate retrain DIR`), then for \
      each bundle and each of its methods (the kGLM's scores for the test label, and every \
      --baseline it holds) computes the LDS: per test point, Spearman ρ over the subsets between \
      the summed scores of the subset's training points and the retrained model's margin; the \
      mean over test points, with a percentile bootstrap interval over test points. The result \
      goes into each bundle's metrics.json (evaluation) and report, the bundle rewritten atomically.
      """)

  @Argument(help: "The folder written by `entk evaluate subsets`.") var directory: String
  @Option(name: .customLong("bundle"), help: "A bundle made on the same data, with test labels; repeatable.")
  var bundles: [String] = []
  @Option(help: "Bootstrap resamples of the test points.") var resamples = 1000
  @Option(name: .customLong("bootstrap-seed"), help: "Seed of the bootstrap.") var bootstrapSeed: UInt64 = 0
  @Option(help: "Test points whose margins are kept for the report's plot.") var examples = 4
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    guard !bundles.isEmpty else { throw ValidationError("give at least one --bundle to score") }
    guard resamples >= 1 else { throw ValidationError("--resamples must be at least 1") }
    guard examples >= 0 else { throw ValidationError("--examples must be at least 0") }
  }

  struct Row: Encodable {
    var bundle: String
    var score: LinearDatamodelingScore
  }

  func run() throws {
    let folder = try RetrainFolder.open(URL(fileURLWithPath: directory))
    let d = folder.description
    guard let fraction = d.fraction, let subsetSize = d.subsetSize, let seed = d.seed else {
      throw EvaluateError.notARetrainFolder(
        path: folder.url.path,
        reason: "its models are not trained on random subsets (it is entk evaluate remove's or mislabel's)")
    }
    // Every bundle is read and checked before any retraining, so a wrong bundle fails fast.
    let read = try bundles.map { path in (path, try AttributionBundle.read(from: URL(fileURLWithPath: path))) }
    let trainLabels = try LabelFile(path: d.trainLabels.path, count: d.trainCount).int64Values
    let testLabels = try LabelFile(path: d.testLabels.path, count: d.testCount).int64Values
    for (path, bundle) in read {
      try BundleScores.checkLabels(
        bundle, path: path, train: (trainLabels, d.trainLabels.path), test: (testLabels, d.testLabels.path))
    }
    try folder.retrain(Array(0..<d.subsetCount))
    let margins = try folder.margins()
    let subsets = (0..<d.subsetCount).map(folder.subset)
    var rows: [Row] = []
    for (path, bundle) in read {
      var scores: [LinearDatamodelingScore] = []
      for (method, values) in try BundleScores.forLabels(bundle, labels: testLabels.map { Int($0) }) {
        scores.append(
          LinearDatamodelingScore(
            method: method, scores: values, trainCount: d.trainCount, subsets: subsets, margins: margins,
            exampleCount: examples, resamples: resamples, seed: bootstrapSeed))
      }
      var updated = bundle
      var evaluation = updated.metrics.evaluation ?? EvaluationMetrics()
      evaluation.retrained = .init(
        folder: folder.url.standardizedFileURL.path, subsetCount: d.subsetCount, subsetSize: subsetSize,
        fraction: fraction, seed: seed)
      evaluation.lds = scores
      updated.metrics.evaluation = evaluation
      try updated.write(to: URL(fileURLWithPath: path), replaceExisting: true)
      rows += scores.map { Row(bundle: path, score: $0) }
    }
    if json {
      try printJSON(rows)
      return
    }
    print("bundle\tmethod\tLDS\t95% interval\ttest points")
    for row in rows {
      let s = row.score
      let value = s.value.map { String(format: "%.4f", $0) } ?? "–"
      let interval = s.interval.map { String(format: "[%.4f, %.4f]", $0.lower, $0.upper) } ?? "–"
      print("\(row.bundle)\t\(s.method)\t\(value)\t\(interval)\t\(s.definedCount)/\(s.testCount)")
    }
  }
}
