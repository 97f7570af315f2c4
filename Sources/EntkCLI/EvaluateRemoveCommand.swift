import ArgumentParser
import ArrayIO
import Evaluation
import Foundation
import Reporter

struct EvaluateRemoveCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "remove",
    abstract: "Remove test points' top-k proponents (and k random points), retrain, report the margin change.",
    discussion: """
      Trains a model on all the training points with the given settings (the reference), and for \
      each --test-index one model without the point's top-k proponents under --method (the largest \
      positive scores for its label) and one without as many random training points (the control), \
      all with the same settings and seed. Models go to --out; the margins, their changes from the \
      reference and whether the prediction flipped go into the bundle's metrics and report. \
      Definitions: docs/evaluate.md.
      """)

  @Option(help: "The bundle whose attributions choose the proponents (made on the same data, with test labels).")
  var bundle: String
  @Option(help: "Attribution method: kglm, or a baseline the bundle holds (grad-dot, grad-cos).") var method = "kglm"
  @Option(name: .customLong("test-index"), help: "A test point to examine (0-based); repeatable.")
  var testIndices: [Int] = []
  @Option(name: .customLong("top-k"), help: "Proponents removed per test point.") var topK = 10
  @Option(name: .customLong("control-seed"), help: "Seed of the random control sets.") var controlSeed: UInt64 = 0
  @Option(help: "Backend that trains and runs the models.") var backend: String
  @Option(help: "Backend-specific options for loading the models, as a JSON object.") var options: String?
  @OptionGroup var data: LabelledDataOptions
  @Option(help: "The model to train, an architecture (as `entk train --model`; the settings of the original model).")
  var model: String
  @OptionGroup var training: TrainingOptions
  @Option(help: "Folder for the retrained models.") var out: String

  func validate() throws {
    guard !testIndices.isEmpty else { throw ValidationError("give at least one --test-index") }
    guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
    _ = try data.requiredTest()
  }

  func run() throws {
    let (testX, testY) = try data.requiredTest()
    let (trainX, trainY) = (data.train, data.trainLabels)
    let directory = try OutputPath.check(out)
    let bundleURL = URL(fileURLWithPath: bundle)
    var explained = try AttributionBundle.read(from: bundleURL)
    let trainLabels = try ArrayFile.read(URL(fileURLWithPath: trainY)).int64Values(path: trainY)
    let testLabels = try ArrayFile.read(URL(fileURLWithPath: testY)).int64Values(path: testY)
    try BundleScores.checkLabels(explained, path: bundle, train: (trainLabels, trainY), test: (testLabels, testY))
    let labels = testLabels.map { Int($0) }
    let methods = try BundleScores.forLabels(explained, labels: labels)
    guard let scores = methods.first(where: { $0.0 == method })?.1 else {
      throw EvaluateError.bundleMismatch(
        bundle: bundle, reason: "it has no method \(method) (it has \(methods.map(\.0).joined(separator: ", ")))")
    }
    let (n, m) = (trainLabels.count, testLabels.count)
    if let bad = testIndices.first(where: { !(0..<m).contains($0) }) {
      throw EvaluateError.bundleMismatch(bundle: bundle, reason: "--test-index \(bad) is outside 0..<\(m)")
    }
    let x = try ArrayFile.readFiniteFloat32(URL(fileURLWithPath: trainX))
    let testInputs = try ArrayFile.readFiniteFloat32(URL(fileURLWithPath: testX)).float32Values()
    guard x.shape.first == n else {
      throw EvaluateError.bundleMismatch(bundle: trainX, reason: "\(x.shape.first ?? 0) inputs for \(n) labels")
    }
    let sample = x.count / max(n, 1)
    let inputs = x.float32Values()
    let settings = training.settings(model: model)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

    /// Trains without `removed` into `name` and returns its margins on the test points.
    func retrain(without removed: [Int], name: String) throws -> TestMargins {
      let excluded = Set(removed)
      let kept = (0..<n).filter { !excluded.contains($0) }
      var keptInputs: [Float] = []
      keptInputs.reserveCapacity(kept.count * sample)
      for i in kept { keptInputs += inputs[(i * sample)..<((i + 1) * sample)] }
      let model = directory.appendingPathComponent(name)
      printError("evaluate: training \(name) on \(kept.count) of \(n) training points")
      try settings.trainAndSave(backend: backend, inputs: keptInputs, labels: kept.map { trainLabels[$0] }, to: model)
      return try TestMargins(model: model, backend: backend, options: options, inputs: testInputs, labels: labels)
    }

    let full = try retrain(without: [], name: "full")
    var points: [RemovalEvaluation.Point] = []
    for t in testIndices {
      let proponents = RemovalEvaluation.topProponents(Array(scores[(t * n)..<((t + 1) * n)]), count: topK)
      let random = RandomSubsets.subset(index: t, seed: controlSeed, trainCount: n, size: proponents.count)
      func outcome(_ removed: [Int], _ name: String) throws -> RemovalEvaluation.Retraining {
        let after = try retrain(without: removed, name: "test-\(t)-\(name)")
        return .init(
          removed: removed.sorted(), margin: after.margins[t], change: after.margins[t] - full.margins[t],
          flipped: after.prediction(t) != full.prediction(t))
      }
      points.append(
        .init(
          testIndex: t, label: labels[t], fullMargin: full.margins[t],
          proponents: try outcome(proponents, "proponents"), random: try outcome(random, "random")))
    }
    let removal = RemovalEvaluation(method: method, topK: topK, controlSeed: controlSeed, points: points)
    var evaluation = explained.metrics.evaluation ?? EvaluationMetrics()
    evaluation.removal = removal
    explained.metrics.evaluation = evaluation
    try explained.write(to: bundleURL, replaceExisting: true)

    print("test\tlabel\tfull margin\tΔ without proponents\tflipped\tΔ without random\tflipped")
    for p in points {
      let change = { (value: Double) in String(format: "%+.4f", value) }
      print(
        "\(p.testIndex)\t\(p.label)\t\(String(format: "%.4f", p.fullMargin))\t\(change(p.proponents.change))\t"
          + "\(p.proponents.flipped ? "yes" : "no")\t\(change(p.random.change))\t\(p.random.flipped ? "yes" : "no")")
    }
  }
}
