import ArgumentParser
import AttributionPipeline
import Foundation
import Kernels
import Reporter
import Surrogate

struct AttributeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attribute",
    abstract: "Fit a kGLM surrogate on kernels, measure its faithfulness and write an attribution bundle.",
    discussion: """
      Kernels are computed here or given. With --kind, entk computes the train×train and \
      test×train kernels of the model (--backend, --model) on --train and --test, as `entk kernel` \
      would (same options; --normalize defaults to cosine, as in the paper), in a hidden folder \
      beside --out that is removed once the bundle is written. Otherwise --train-kernel and \
      --test-kernel name `entk kernel` folders (kernel.npy and kernel.json) or .npy files: the \
      train kernel [N, N] (or [L, N, N] per layer, NFT-K) and the test kernel [M, N] (or \
      [L, M, N]), float32, normalised as you want the surrogate to see them. The surrogate \
      logits_hat(x) = W k(x, X) + b is fitted by L-BFGS to minimise (1/N) Σ s_i CE_i + (α/2)‖W‖² \
      (scikit-learn LogisticRegression with C = 1/(α N)).

      The network's test logits (and train logits for --target network-predictions) are read \
      from --test-logits/--train-logits, or computed with the backend and model (given here or \
      recorded in the kernel folder) from --test/--train. The bundle is written under a \
      temporary name beside --out and renamed when complete.
      """)

  @Option(help: "Compute the kernels here, of this kind (trntk, pntk, proj-trntk, proj-pntk, em or layers).")
  var kind: KernelKind?
  @Option(name: .customLong("proj-dim"), help: "With --kind: k, rows of the random projection (proj-* kinds).")
  var projDim: Int?
  @Option(
    name: .customLong("proj-kind"), help: "With --kind: the projection (default gaussian).")
  var projKind: ProjectionDistribution?
  @Option(
    name: .customLong("proj-density"),
    help:
      "With --kind and --proj-kind sparse or factored: nonzero entries per column (default \(ProjectionSettings.defaultDensity))."
  )
  var projDensity: Int?
  @Option(help: "Projection seed: used with --kind, recorded for precomputed .npy kernels (default 0).")
  var seed: UInt64?
  @Option(
    help:
      "With --kind: normalisation. cosine (default), as the paper fits the surrogate; `entk kernel` defaults to none because it stores the raw kernel."
  )
  var normalize: KernelNormalization?
  @Option(
    help:
      "With --kind: memory budget for gradient batches and tiles, e.g. 2G, 512M (default: \(Int(AvailableMemory.defaultShare * 100))% of the memory available)."
  )
  var memory: String?
  @Option(
    name: .customLong("batch-size"),
    help: "With --kind: samples per backend call (default: up to 64, as many as half of --memory holds).")
  var batchSize: Int?
  @Option(help: "With --kind: backend models and kernel threads (default: all cores; at most 4 per core).")
  var threads: Int?
  @Option(
    help: "With --kind: per-layer factors (trntk, layers) when the backend has them (auto, default) or not (off).")
  var factors: FactorUse?
  @Option(
    name: .customLong("train-kernel"), help: "Train×train kernel: .npy [N, N] or [L, N, N], or an `entk kernel` folder."
  )
  var trainKernel: String?
  @Option(
    name: .customLong("test-kernel"), help: "Test×train kernel: .npy [M, N] or [L, M, N], or an `entk kernel` folder.")
  var testKernel: String?
  @Option(
    name: .customLong("kernel-kind"),
    help: "Kernel kind to record when --train-kernel/--test-kernel are plain .npy files (default precomputed).")
  var kernelKind: String?
  @Option(name: .customLong("train-labels"), help: "Training labels (.npy or .csv, [N] integers in 0..<C).")
  var trainLabels: String
  @Option(name: .customLong("test-labels"), help: "Test labels ([M]); needed for accuracies and the paper's τ.")
  var testLabels: String?
  @Option(name: .customLong("test-logits"), help: "The network's test logits ([M, C]).") var testLogits: String?
  @Option(
    name: .customLong("train-logits"), help: "The network's train logits ([N, C]), for --target network-predictions.")
  var trainLogits: String?
  @Option(
    help: ArgumentHelp(
      DataSourceHelp.train
        + " Used to compute kernels and logits; one float array is copied into the bundle for pictures.",
      valueName: "file|NAME=file"))
  var train: [String] = []
  @Option(help: ArgumentHelp(DataSourceHelp.test, valueName: "file|NAME=file")) var test: [String] = []
  @Option(
    name: .customLong("train-text"),
    help: "Training texts (one UTF-8 line per training point): the report shows them instead of pictures.")
  var trainText: String?
  @Option(name: .customLong("test-text"), help: "Test texts (one UTF-8 line per test point), shown in the report.")
  var testText: String?
  @Option(help: "Backend name or library path (default: the one recorded in a kernel folder).") var backend: String?
  @Option(
    help:
      "Model file or folder (default: the one recorded in a kernel folder). Repeat with --kind for an ensemble of one architecture: kernels and logits are averaged over the models."
  )
  var model: [String] = []
  @Option(help: "Backend-specific options as a JSON object.") var options: String?
  @Option(
    help:
      "Also compute a baseline's scores on the same model(s) and data: grad-dot or grad-cos (TracIn at the final checkpoint, on loss gradients); repeatable. Needs --train and --test."
  )
  var baseline: [LossGradientMethod] = []
  @Option(help: "L2 strength α of the surrogate's objective.") var alpha: Double = 1e-4
  @Option(name: .customLong("class-weight"), help: "Per-point loss weights: balanced (as in the paper) or none.")
  var classWeight = ClassWeighting.balanced
  @Option(help: "Fit the surrogate to the labels (ground truth) or the network's predictions.")
  var target = FitTarget.labels
  @Option(name: .customLong("max-iterations"), help: "L-BFGS iteration limit.") var maxIterations: Int = 5000
  @Option(help: "Converged when the objective's gradient max-norm is at most this.") var tolerance: Double = 1e-6
  @Option(
    name: .customLong("top-k"),
    help: "Proponents and opponents listed per test point and class (at most N, the training points: larger lists all)."
  )
  var topK: Int = 10
  @Option(help: "Bundle folder to write (an existing one is refused unless --force).") var out: String
  @Flag(help: "Replace an existing --out.") var force = false
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    try validateKernelSource()
    if !baseline.isEmpty, train.isEmpty || test.isEmpty {
      throw ValidationError("--baseline computes loss gradients of the inputs: it needs --train and --test")
    }
    guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
    guard alpha > 0 else { throw ValidationError("--alpha must be positive") }
    guard maxIterations >= 1 else { throw ValidationError("--max-iterations must be at least 1") }
    guard tolerance > 0 else { throw ValidationError("--tolerance must be positive") }
  }

  /// Exactly one source of kernels: computed (--kind, with what that needs) or precomputed files.
  private func validateKernelSource() throws {
    let computeOptions: [(String, Bool)] = [
      ("--proj-dim", projDim != nil), ("--proj-kind", projKind != nil), ("--proj-density", projDensity != nil),
      ("--normalize", normalize != nil),
      ("--memory", memory != nil), ("--batch-size", batchSize != nil), ("--threads", threads != nil),
      ("--factors", factors != nil),
    ]
    guard kind != nil else {
      guard model.count <= 1 else {
        throw ValidationError(
          "\(model.count) models given, but precomputed kernels belong to one model: give --kind so entk computes and averages every model's kernels"
        )
      }
      guard trainKernel != nil || testKernel != nil else {
        throw ValidationError(
          "give --kind KIND to compute the kernels, or --train-kernel and --test-kernel to use precomputed ones")
      }
      guard trainKernel != nil, testKernel != nil else {
        throw ValidationError("precomputed kernels need both --train-kernel and --test-kernel")
      }
      let given = computeOptions.filter(\.1).map(\.0)
      guard given.isEmpty else {
        throw ValidationError(
          "\(given.joined(separator: ", ")) only apply with --kind (entk computing the kernels), not to precomputed kernels"
        )
      }
      return
    }
    guard trainKernel == nil, testKernel == nil else {
      throw ValidationError(
        "give either --kind (entk computes the kernels) or --train-kernel and --test-kernel (precomputed), not both")
    }
    guard kernelKind == nil else {
      throw ValidationError("--kernel-kind records the kind of precomputed .npy kernels; with --kind it is --kind")
    }
    let missing = [
      ("--backend", backend != nil), ("--model", !model.isEmpty), ("--train", !train.isEmpty),
      ("--test", !test.isEmpty),
    ]
    .filter { !$0.1 }.map(\.0)
    guard missing.isEmpty else {
      throw ValidationError(
        "--kind computes the kernels with the model on the data; it also needs \(missing.joined(separator: ", "))")
    }
    if kind == .entk {
      throw ValidationError(
        "--kind entk: the full eNTK's C×C blocks need a block kernel machine; use trntk, pntk, a projected kind, em or layers"
      )
    }
    if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
  }

  struct Summary: Encodable {
    var bundle: String
    var report: String
    var metrics: Manifest.MetricsSummary
    var fit: KGLMFitReport
  }

  func run() throws {
    // ".NAME.partial-UUID" (46 bytes more than NAME) is the longest sibling the bundle writer makes.
    let outURL = try OutputPath.check(out, reservedNameBytes: 46, mayBeFile: true)
    let pipeline = AttributionPipeline(request: try request(), log: printError)
    let outcome = try pipeline.write(to: outURL, replaceExisting: force)
    let reportPath = outURL.appendingPathComponent(BundleFormat.report).path
    if json {
      try printJSON(
        Summary(bundle: outURL.path, report: reportPath, metrics: outcome.metrics.summary, fit: outcome.metrics.fit))
    } else {
      print(MetricsText.lines(outcome.metrics, kind: outcome.kernelKind).joined(separator: "\n"))
      print("bundle  \(outURL.path)")
      print("report  \(reportPath)")
    }
  }

  /// The pipeline's request from the options (checked by `validate`).
  private func request() throws -> AttributionRequest {
    let kernels: KernelInput
    if let kind {
      let settings = try KernelSettings(
        kind: kind, projDim: projDim, projKind: projKind ?? .gaussian, projDensity: projDensity, seed: seed ?? 0,
        normalize: normalize ?? .cosine, memory: memory, tileSize: nil, batchSize: batchSize, factors: factors ?? .auto)
      kernels = .compute(settings: settings, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
    } else {
      kernels = .precomputed(train: trainKernel ?? "", test: testKernel ?? "", kind: kernelKind)
    }
    var request = AttributionRequest(kernels: kernels, trainLabels: trainLabels)
    request.testLabels = testLabels
    request.testLogits = testLogits
    request.trainLogits = trainLogits
    request.train = train
    request.test = test
    request.trainText = trainText
    request.testText = testText
    request.backend = backend
    request.models = model
    request.options = options
    request.baselines = baseline
    request.surrogate.alpha = alpha
    request.surrogate.classWeighting = classWeight
    request.surrogate.maxIterations = maxIterations
    request.surrogate.gradientTolerance = tolerance
    request.target = target
    request.topK = topK
    request.seed = seed
    request.commandLine = CommandLine.arguments
    return request
  }
}
