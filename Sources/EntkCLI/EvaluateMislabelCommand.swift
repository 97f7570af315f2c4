import ArgumentParser
import ArrayIO
import AttributionPipeline
import BackendLoader
import Evaluation
import Foundation
import Kernels
import Reporter
import Surrogate

struct EvaluateMislabelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mislabel",
    abstract: "Flip a seeded fraction of training labels, train, attribute, and rank by self-influence.",
    discussion: """
      Writes into --out: noisy_train_y.npy (the flipped labels), flipped.npy (the flipped indices), \
      model (trained with the backend's train call on the flipped labels) and bundle (as `entk \
      attribute --kind` on the model and the flipped labels, with the grad-dot baseline). Training \
      points are ranked by self-influence (TracIn's ‖∇ℓ_i‖²): the kGLM's, ‖p̂_i − e_ỹ‖² ‖k(x_i, X)‖², and \
      the network's, ‖∇_θ ℓ(x_i, ỹ_i)‖² (grad-dot); the detection AUC and the fraction of flipped points found after inspecting \
      5, 10 and 20% of the data go into the bundle's metrics and report. Definitions: docs/evaluate.md.
      """)

  @Option(help: "Backend that trains and runs the model.") var backend: String
  @Option(help: "Backend-specific options for loading the model, as a JSON object.") var options: String?
  @OptionGroup var data: LabelledDataOptions
  @Option(help: "Fraction of the training labels to flip (0 < f < 1).") var fraction = 0.1
  @Option(name: .customLong("flip-seed"), help: "Seed of the flipped points and their new labels.")
  var flipSeed: UInt64 = 0
  @Option(help: "The model to train, an architecture (as `entk train --model`).") var model: String
  @OptionGroup var training: TrainingOptions
  @Option(help: "Kernel kind of the attribution (as `entk attribute --kind`).") var kind = "trntk"
  @Option(name: .customLong("proj-dim"), help: "k, for the projected kinds.") var projDim: Int?
  @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?
  @Option(help: "Output folder.") var out: String

  func validate() throws {
    guard fraction > 0, fraction < 1 else { throw ValidationError("--fraction must be strictly between 0 and 1") }
    _ = try data.requiredTest()
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
  }

  func run() throws {
    let (testX, testY) = try data.requiredTest()
    let (trainX, trainY) = (data.train, data.trainLabels)
    let directory = try OutputPath.check(out)
    let settings = training.settings(model: model)
    let library = try BackendLibrary.load(backend)
    let network = try library.open(model: settings.arch, options: settings.openOptions)
    let x = try SampleSet.read(.file(URL(fileURLWithPath: trainX)), inputs: network.description.inputs)
    let classCount = network.description.numOutputs
    let labels = try LabelFile(path: trainY, count: x.count, classCount: classCount).values
    let flips = LabelFlips(labels: labels, classCount: classCount, fraction: fraction, seed: flipSeed)
    printError("evaluate: flipped \(flips.indices.count) of \(labels.count) training labels (seed \(flipSeed))")

    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let noisy = directory.appendingPathComponent("noisy_train_y.npy")
    try Self.write(NPYArray(int64: flips.labels.map { Int64($0) }, shape: [labels.count]), to: noisy)
    try Self.write(
      NPYArray(int64: flips.indices.map { Int64($0) }, shape: [flips.indices.count]),
      to: directory.appendingPathComponent("flipped.npy"))

    let trained = directory.appendingPathComponent("model")
    printError("evaluate: training on the flipped labels")
    guard let floats = x.floatValues else {
      throw BackendCallError.notSingleFloatInput(call: "train", inputs: network.description.inputSummary)
    }
    try settings.trainAndSave(backend: backend, inputs: floats, labels: flips.labels.map { Int64($0) }, to: trained)

    let bundleURL = directory.appendingPathComponent("bundle")
    var arguments = [
      "--kind", kind, "--backend", backend, "--model", trained.path, "--train", trainX, "--test", testX,
      "--train-labels", noisy.path, "--test-labels", testY, "--baseline", "grad-dot", "--out", bundleURL.path,
      "--force",
    ]
    if let options { arguments += ["--options", options] }
    if let projDim { arguments += ["--proj-dim", String(projDim)] }
    if let threads { arguments += ["--threads", String(threads)] }
    let attribute = try AttributeCommand.parse(arguments)
    try attribute.run()

    var bundle = try AttributionBundle.read(from: bundleURL)
    let retrained = try library.open(model: trained.path, options: options)
    let gradients = try LossGradientMethod.lossGradients(
      model: retrained, samples: x, labels: flips.labels, dataset: "train")
    let p = retrained.description.numParams
    let gradDot = LossGradientMethod.norms(gradients, rows: labels.count, width: p).map { $0 * $0 }
    let flippedSet = Set(flips.indices)
    let flagged = (0..<labels.count).map(flippedSet.contains)
    let detection = MislabelDetection(
      fraction: fraction, seed: flipSeed,
      methods: [
        .init(
          method: "kglm", measure: "the surrogate's squared loss-gradient norm, ‖p̂_i − e_y‖² ‖k(x_i, X)‖²",
          curve: DetectionCurve(scores: Self.kglmSelfInfluence(bundle, labels: flips.labels), flagged: flagged)),
        .init(
          method: "grad-dot", measure: "squared norm of the loss gradient",
          curve: DetectionCurve(scores: gradDot, flagged: flagged)),
      ])
    var evaluation = bundle.metrics.evaluation ?? EvaluationMetrics()
    evaluation.mislabel = detection
    bundle.metrics.evaluation = evaluation
    try bundle.write(to: bundleURL, replaceExisting: true)

    print("method\tAUC\tfound after 5%\t10%\t20%")
    for method in detection.methods {
      let found = method.curve.inspections.map { String(format: "%.1f%%", 100 * $0.found) }.joined(separator: "\t")
      print("\(method.method)\t\(method.curve.auc.map { String(format: "%.4f", $0) } ?? "–")\t\(found)")
    }
  }

  /// The kGLM's self-influence of each training point: TracIn's ‖∇ℓ_i‖² for the surrogate, a linear
  /// model in the features k_i = k(x_i, X) (all layers side by side), whose loss gradient with
  /// respect to W is (p̂_i − e_{ỹ_i}) k_iᵀ, so ‖∇ℓ_i‖² = ‖p̂_i − e_{ỹ_i}‖² ‖k_i‖², with p̂_i the
  /// softmax of the surrogate's logits W k_i + b (float64).
  static func kglmSelfInfluence(_ bundle: AttributionBundle, labels: [Int]) -> [Double] {
    let weights = bundle.surrogateWeights.float64Values()
    let bias = bundle.surrogateBias.float64Values()
    let kernel = bundle.trainKernel.float64Values()
    let shape = bundle.trainKernel.shape
    let (layers, n) = shape.count == 3 ? (shape[0], shape[1]) : (1, shape[0])
    let c = bias.count
    let width = layers * n
    return (0..<n).map { i in
      var features = [Double](repeating: 0, count: width)
      for l in 0..<layers {
        for j in 0..<n { features[l * n + j] = kernel[(l * n + i) * n + j] }
      }
      let logits = (0..<c).map { k in
        bias[k] + (0..<width).reduce(0.0) { $0 + weights[k * width + $1] * features[$1] }
      }
      let top = logits.max() ?? 0
      let exps = logits.map { exp($0 - top) }
      let total = exps.reduce(0, +)
      let residual = (0..<c).reduce(0.0) { sum, k in
        let r = exps[k] / total - (k == labels[i] ? 1 : 0)
        return sum + r * r
      }
      return residual * features.reduce(0.0) { $0 + $1 * $1 }
    }
  }

  private static func write(_ array: NPYArray, to url: URL) throws {
    var data = NPYHeader(dtype: array.dtype, shape: array.shape).encoded()
    data.append(array.bytes)
    try data.write(to: url, options: .atomic)
  }
}
