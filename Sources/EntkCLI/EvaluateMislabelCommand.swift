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
      the model trained on the flipped labels, planned as `entk evaluate subsets` plans \
      (subsets.json, a Makefile, slurm.sh; the model is subset-000/model, so an interrupted run \
      resumes and --plan-only leaves the training to make or Slurm), and \
      bundle (as `entk attribute --kind` on the model and the flipped labels, with the grad-dot \
      baseline; a bundle of the same model and kind is reused). Training \
      points are ranked by self-influence (TracIn's ‖∇ℓ_i‖²): the kGLM's, ‖p̂_i − e_ỹ‖² ‖k(x_i, X)‖², and \
      the network's, ‖∇_θ ℓ(x_i, ỹ_i)‖² (grad-dot); the detection AUC and the fraction of flipped points found after inspecting \
      5, 10 and 20% of the data go into the bundle's metrics and report. The model is trained \
      either with the backend's train call (--model, the architecture, and the options of `entk \
      train`) or by --retrain-command, a shell template with {subset} (subset-000, holding \
      train_x.npy and the flipped train_y.npy), {model} (where to write the model, which --backend \
      then loads) and {seed} (--seed); the classes are then 0 to the largest training or test \
      label. Definitions: docs/evaluate.md.
      """)

  @Option(help: "Backend that trains (with --model) and runs the model.") var backend: String
  @Option(help: "Backend-specific options for loading the model, as a JSON object.") var options: String?
  @OptionGroup var data: LabelledDataOptions
  @Option(help: "Fraction of the training labels to flip (0 < f < 1).") var fraction = 0.1
  @Option(name: .customLong("flip-seed"), help: "Seed of the flipped points and their new labels.")
  var flipSeed: UInt64 = 0
  @OptionGroup var retraining: RetrainingOptions
  @Option(help: "Kernel kind of the attribution (as `entk attribute --kind`).") var kind = KernelKind.trntk
  @Option(name: .customLong("proj-dim"), help: "k, for the projected kinds.") var projDim: Int?
  @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?
  @Option(
    help:
      "Output folder. An existing one planned with the same settings is continued (trained models and a matching bundle are kept); one with other settings is refused."
  )
  var out: String
  @Flag(name: .customLong("plan-only"), help: "Write the plan into --out and stop, to train it with make or Slurm.")
  var planOnly = false

  func validate() throws {
    guard fraction > 0, fraction < 1 else { throw ValidationError("--fraction must be strictly between 0 and 1") }
    _ = try data.requiredTest()
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    if kind == .entk {
      throw ValidationError(
        "--kind entk: the full eNTK's C×C blocks cannot be attributed; use trntk, pntk, em or layers")
    }
  }

  func run() throws {
    let (testX, testY) = try data.requiredTest()
    let (trainX, trainY) = (data.train, data.trainLabels)
    let directory = try OutputPath.check(out)
    let settings = retraining.settings
    let library = try BackendLibrary.load(backend)
    let trainInputs = try RetrainFolder.record(trainX)
    let classCount: Int
    if let settings {
      let network = try library.open(model: settings.arch, options: settings.openOptions)
      _ = try SampleSet.read(.file(URL(fileURLWithPath: trainX)), inputs: network.description.inputs)
      classCount = network.description.numOutputs
    } else {
      // No model before the command has trained one: the labels name the classes.
      classCount = try [trainY, testY].map { try LabelFile(path: $0).values.max() ?? 0 }.reduce(0, max) + 1
    }
    let labels = try LabelFile(path: trainY, count: trainInputs.shape.first ?? 0, classCount: classCount).values
    let flips = LabelFlips(labels: labels, classCount: classCount, fraction: fraction, seed: flipSeed)
    printError("evaluate: flipped \(flips.indices.count) of \(labels.count) training labels (seed \(flipSeed))")

    let noisy = directory.appendingPathComponent("noisy_train_y.npy")
    let noisyData = Self.encoded(NPYArray(int64: flips.labels.map { Int64($0) }, shape: [labels.count]))
    let testInputs = try RetrainFolder.record(testX)
    let description = RetrainFolder.Description(
      trainCount: labels.count, testCount: testInputs.shape.first ?? 0,
      models: [.init(name: "flipped-labels", removed: [], seed: retraining.training.seed)], subsetCount: 1,
      trainInputs: trainInputs,
      trainLabels: .init(path: noisy.path, sha256: SHA256.hex(noisyData), shape: [labels.count]),
      testInputs: testInputs, testLabels: try RetrainFolder.record(testY), backend: backend, options: options,
      training: settings, retrainCommand: retraining.retrainCommand)
    // A folder planned with other flips keeps its labels: refused before they are written.
    try RetrainFolder.checkUnchanged(description, in: directory)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    try noisyData.write(to: noisy, options: .atomic)
    try Self.encoded(NPYArray(int64: flips.indices.map { Int64($0) }, shape: [flips.indices.count]))
      .write(to: directory.appendingPathComponent("flipped.npy"), options: .atomic)
    let folder = try RetrainFolder.plan(description, in: directory)
    if planOnly {
      printError("evaluate: the model on the flipped labels is planned in \(directory.path) (\(folder.trainingHint))")
      return
    }
    try folder.retrain([0])
    let trained = folder.model(0)

    let bundleURL = directory.appendingPathComponent("bundle")
    if try !Self.isReusable(bundleURL, model: trained, kind: kind.rawValue, projDim: projDim) {
      var request = AttributionRequest(
        kernels: .compute(
          settings: try KernelSettings(
            kind: kind, projDim: projDim, projKind: .gaussian, projDensity: nil, seed: 0, normalize: .cosine,
            memory: nil, tileSize: nil, batchSize: nil, factors: .auto),
          threads: threads ?? ProcessInfo.processInfo.activeProcessorCount),
        trainLabels: noisy.path)
      request.testLabels = testY
      (request.train, request.test) = ([trainX], [testX])
      (request.backend, request.models, request.options) = (backend, [trained.path], options)
      request.baselines = [.gradDot]
      request.commandLine = CommandLine.arguments
      _ = try AttributionPipeline(request: request, log: printError).write(to: bundleURL, replaceExisting: true)
    }

    var bundle = try AttributionBundle.read(from: bundleURL)
    let retrained = try library.open(model: trained.path, options: options)
    let x = try SampleSet.read(.file(URL(fileURLWithPath: trainX)), inputs: retrained.description.inputs)
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

  /// Whether the bundle at `url` was made from `model` (the SHA-256 its manifest records) with
  /// kernel `kind` (and `projDim`, when given), so attributing again would give it back.
  private static func isReusable(_ url: URL, model: URL, kind: String, projDim: Int?) throws -> Bool {
    guard FileManager.default.fileExists(atPath: url.appendingPathComponent("manifest.json").path),
      let manifest = try? AttributionBundle.read(from: url).manifest,
      let recorded = manifest.models?.first?.sha256
    else { return false }
    return try recorded == ContentDigest.hex(of: model) && manifest.kernel.kind == kind
      && (projDim == nil || manifest.kernel.settings["projectionDim"] == projDim.map(String.init))
  }

  private static func encoded(_ array: NPYArray) -> Data {
    var data = NPYHeader(dtype: array.dtype, shape: array.shape).encoded()
    data.append(array.bytes)
    return data
  }
}
