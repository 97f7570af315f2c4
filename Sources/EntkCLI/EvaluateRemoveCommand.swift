import ArgumentParser
import ArrayIO
import AttributionPipeline
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
      all with the same settings and seed. --out is a folder of retrained subsets as `entk evaluate \
      subsets` writes (subsets.json, a Makefile, slurm.sh; the reference is subset 0, then each \
      point's two): an interrupted run resumes, and with --plan-only the models can be trained by \
      make or Slurm before the same command is run again. The margins, their changes from the \
      reference and whether the prediction flipped go into the bundle's metrics and report. \
      Definitions: docs/evaluate.md.
      """)

  @Option(help: "The bundle whose attributions choose the proponents (made on the same data, with test labels).")
  var bundle: String
  @Option(help: "Attribution method: the kGLM's scores, or a baseline the bundle holds.")
  var method = AttributionMethod.kglm
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
  @Option(
    help:
      "Folder for the retrained models. An existing one planned with the same settings is continued (trained models are kept); one with other settings is refused."
  )
  var out: String
  @Flag(name: .customLong("plan-only"), help: "Write the plan into --out and stop, to train it with make or Slurm.")
  var planOnly = false

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
    let trainLabels = try LabelFile(path: trainY).int64Values
    let testLabels = try LabelFile(path: testY).int64Values
    try BundleScores.checkLabels(explained, path: bundle, train: (trainLabels, trainY), test: (testLabels, testY))
    let labels = testLabels.map { Int($0) }
    let methods = try BundleScores.forLabels(explained, labels: labels)
    guard let scores = methods.first(where: { $0.0 == method.rawValue })?.1 else {
      throw EvaluateError.bundleMismatch(
        bundle: bundle,
        reason: "it has no method \(method.rawValue) (it has \(methods.map(\.0).joined(separator: ", ")))")
    }
    let (n, m) = (trainLabels.count, testLabels.count)
    if let bad = testIndices.first(where: { !(0..<m).contains($0) }) {
      throw EvaluateError.bundleMismatch(bundle: bundle, reason: "--test-index \(bad) is outside 0..<\(m)")
    }
    let (trainInputs, testInputs) = (try RetrainFolder.record(trainX), try RetrainFolder.record(testX))
    try RetrainFolder.checkArchitecture(backend: backend, arch: model, samples: [trainX, testX])
    var planned = [RetrainFolder.PlannedModel(name: "full", removed: [], seed: training.seed)]
    for t in testIndices {
      let proponents = RemovalEvaluation.topProponents(Array(scores[(t * n)..<((t + 1) * n)]), count: topK)
      let random = RandomSubsets.subset(index: t, seed: controlSeed, trainCount: n, size: proponents.count)
      planned.append(.init(name: "test-\(t)-proponents", removed: proponents.sorted(), seed: training.seed))
      planned.append(.init(name: "test-\(t)-random", removed: random, seed: training.seed))
    }
    let description = RetrainFolder.Description(
      trainCount: n, testCount: m, models: planned, subsetCount: planned.count, trainInputs: trainInputs,
      trainLabels: try RetrainFolder.record(trainY), testInputs: testInputs,
      testLabels: try RetrainFolder.record(testY),
      backend: backend, options: options,
      training: training.settings(model: model))
    let folder = try RetrainFolder.plan(description, in: directory)
    if planOnly {
      printError("evaluate: \(planned.count) models planned in \(directory.path) (\(folder.trainingHint))")
      return
    }
    try folder.retrain(Array(planned.indices))
    let (margins, predictions) = (try folder.margins(), try folder.predictions())

    var points: [RemovalEvaluation.Point] = []
    for (position, t) in testIndices.enumerated() {
      func outcome(_ k: Int) -> RemovalEvaluation.Retraining {
        .init(
          removed: planned[k].removed, margin: margins[k][t], change: margins[k][t] - margins[0][t],
          flipped: predictions[k][t] != predictions[0][t])
      }
      points.append(
        .init(
          testIndex: t, label: labels[t], fullMargin: margins[0][t], proponents: outcome(1 + 2 * position),
          random: outcome(2 + 2 * position)))
    }
    let removal = RemovalEvaluation(method: method.rawValue, topK: topK, controlSeed: controlSeed, points: points)
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
