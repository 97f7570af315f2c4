import ArgumentParser
import ArrayIO
import Attribution
import BackendLoader
import Faithfulness
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

  @Option(help: "Compute the kernels here: entk kind trntk, pntk, proj-trntk, proj-pntk, em or layers.")
  var kind: String?
  @Option(name: .customLong("proj-dim"), help: "With --kind: k, rows of the random projection (proj-* kinds).")
  var projDim: Int?
  @Option(
    name: .customLong("proj-kind"),
    help: "With --kind: the projection, gaussian (default), rademacher, sparse or factored.")
  var projKind: String?
  @Option(
    name: .customLong("proj-density"),
    help:
      "With --kind and --proj-kind sparse or factored: nonzero entries per column (default \(ProjectionSettings.defaultDensity))."
  )
  var projDensity: Int?
  @Option(help: "Projection seed: used with --kind, recorded for precomputed .npy kernels (default 0).")
  var seed: UInt64?
  @Option(help: "With --kind: normalisation, cosine (default, as in the paper) or none.") var normalize: String?
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
  @Option(help: "With --kind: per-layer factors (trntk, layers) when the backend has them, auto (default) or off.")
  var factors: String?
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
  @Option(name: .customLong("class-weight"), help: "balanced (as in the paper) or none.") var classWeight: String =
    "balanced"
  @Option(help: "Fit the surrogate to: labels (ground truth) or network-predictions.") var target: String = "labels"
  @Option(name: .customLong("max-iterations"), help: "L-BFGS iteration limit.") var maxIterations: Int = 5000
  @Option(help: "Converged when the objective's gradient max-norm is at most this.") var tolerance: Double = 1e-6
  @Option(
    name: .customLong("top-k"),
    help: "Proponents and opponents listed per test point and class (at most N, the training points: larger lists all)."
  )
  var topK: Int = 10
  @Option(help: "Bundle folder to write.") var out: String
  @Flag(help: "Replace an existing bundle at --out.") var force = false
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    try validateKernelSource()
    guard ClassWeighting(rawValue: classWeight) != nil else {
      throw ValidationError("--class-weight must be balanced or none")
    }
    guard ["labels", "network-predictions"].contains(target) else {
      throw ValidationError("--target must be labels or network-predictions")
    }
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
    if kind == KernelKind.entk.rawValue {
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
    if !force, FileManager.default.fileExists(atPath: outURL.path) {
      throw ReporterError.bundleExists(path: outURL.path)
    }

    // Read before the kernels are computed, so a missing or non-UTF-8 file fails before any work.
    let texts = try SampleTextFiles(train: trainText, test: testText)
    if let kind {
      if !texts.isEmpty {
        // Their line counts too: the kernels will have a row per sample of --train and --test.
        func samples(_ role: String, _ arguments: [String]) throws -> Int {
          try AttributeSamples(role: role, arguments: arguments).arrays.first?.array.shape.first ?? 0
        }
        try texts.checkCounts(train: samples("train", train), test: samples("test", test))
      }
      let settings = try KernelSettings(
        parsingKind: kind, projDim: projDim, projKind: projKind ?? "gaussian", projDensity: projDensity,
        seed: seed ?? 0,
        normalize: normalize ?? "cosine", memory: memory, tileSize: nil, batchSize: batchSize,
        factors: factors ?? "auto")
      guard let backend, !model.isEmpty, !train.isEmpty, !test.isEmpty else {
        throw ValidationError("--kind needs --backend, --model, --train and --test")  // validate() checked
      }
      let ensemble = try ModelEnsemble.open(backend: backend, models: model, options: options)
      let kernels = try EnsembleKernels.compute(
        settings: settings, backend: backend, ensemble: ensemble, options: options,
        trainInputs: DataSource(arguments: train), testInputs: DataSource(arguments: test),
        threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, beside: outURL)
      try attribute(trainSource: kernels.train, testSource: kernels.test, computed: true, texts: texts, outURL: outURL)
    } else {
      guard let trainKernel, let testKernel else {
        throw ValidationError("give --kind, or --train-kernel and --test-kernel")  // validate() checked
      }
      printError("attribute: reading kernels")
      try attribute(
        trainSource: KernelSource(path: trainKernel), testSource: KernelSource(path: testKernel), computed: false,
        texts: texts, outURL: outURL)
    }
  }

  /// Fits, measures and writes the bundle from the two kernels; `computed` when this run made them
  /// (their working folder is then not recorded, as it does not outlive the run).
  private func attribute(
    trainSource: KernelSource, testSource: KernelSource, computed: Bool, texts: SampleTextFiles, outURL: URL
  ) throws {
    let n = trainSource.array.shape.last ?? 0
    let trainRows = try KernelRows(
      values: trainSource.array.float32Values(), shape: trainSource.array.shape, expectedTrainCount: n,
      name: trainSource.file.path)
    guard trainRows.count == n else {
      throw SurrogateError.kernelShape(
        name: trainSource.file.path, expected: "[N, N] or [L, N, N] (square)", actual: trainSource.array.shape)
    }
    let testRows = try KernelRows(
      values: testSource.array.float32Values(), shape: testSource.array.shape, expectedTrainCount: n,
      name: testSource.file.path)
    guard testRows.layerCount == trainRows.layerCount else {
      throw AttributeError.kernelsDisagree(
        reason: "train kernel has \(trainRows.layerCount) layer(s), test kernel \(testRows.layerCount)")
    }
    if let a = trainSource.folder?.kind, let b = testSource.folder?.kind, a != b {
      throw AttributeError.kernelsDisagree(reason: "kinds \(a) and \(b)")
    }
    let m = testRows.count
    try texts.checkCounts(train: n, test: m)

    let trainLabelArray = try ArrayFile.read(URL(fileURLWithPath: trainLabels))
    let trainLabelValues = try trainLabelArray.int64Values(path: trainLabels).map { Int($0) }
    let testLabelArray = try testLabels.map { try ArrayFile.read(URL(fileURLWithPath: $0)) }
    let testLabelValues = try testLabelArray.map { array in
      try array.int64Values(path: testLabels ?? "").map { Int($0) }
    }

    let trainInputs = train.isEmpty ? nil : try AttributeSamples(role: "train", arguments: train)
    let testInputs = test.isEmpty ? nil : try AttributeSamples(role: "test", arguments: test)
    try trainInputs?.checkCount(n)
    try testInputs?.checkCount(m)

    let network = EnsembleLogits(
      backend: backend ?? trainSource.folder?.backend,
      models: model.isEmpty ? (trainSource.folder?.model).map { [$0] } ?? [] : model,
      options: options ?? trainSource.folder?.options)
    let testLogitArray = try network.logits(role: "test", file: testLogits, inputs: testInputs, count: m)
    guard testLogitArray.shape.count == 2, testLogitArray.shape[1] >= 2 else {
      throw SurrogateError.logitsShape(
        name: testLogits ?? "test logits", expected: [m, -1], actual: testLogitArray.shape)
    }
    let classCount = testLogitArray.shape[1]
    try ClassLabels.validate(trainLabelValues, count: n, classCount: classCount, name: trainLabels)
    if let testLabelValues, let testLabels {
      try ClassLabels.validate(testLabelValues, count: m, classCount: classCount, name: testLabels)
    }

    var fitTargets = trainLabelValues
    if target == "network-predictions" {
      let trainLogitArray = try network.logits(role: "train", file: trainLogits, inputs: trainInputs, count: n)
      guard trainLogitArray.shape == [n, classCount] else {
        throw SurrogateError.logitsShape(
          name: trainLogits ?? "train logits", expected: [n, classCount], actual: trainLogitArray.shape)
      }
      fitTargets = ClassLabels.argmax(trainLogitArray.float32Values(), classCount: classCount)
    }

    var settings = KGLMSettings()
    settings.alpha = alpha
    settings.classWeighting = ClassWeighting(rawValue: classWeight) ?? .balanced
    settings.maxIterations = maxIterations
    settings.gradientTolerance = tolerance
    printError(
      "attribute: fitting the kGLM on \(n) training points × \(trainRows.layerCount) kernel(s), \(classCount) classes")
    let started = Date()
    var lastReport = Date()
    let (surrogate, fit) = try KGLM.fit(
      rows: trainRows, labels: fitTargets, classCount: classCount, settings: settings,
      labelsName: target == "labels" ? trainLabels : "network's train predictions"
    ) { progress in
      guard Date().timeIntervalSince(lastReport) >= 5 else { return }
      lastReport = Date()
      printError(
        String(
          format: "attribute: iteration %d, objective %.6f, gradient max-norm %.2e (stops at %.0e)", progress.iteration,
          progress.objective, progress.gradientNorm, tolerance))
    }
    let outcome = fit.converged ? "converged" : "NOT converged (\(fit.stopReason))"
    printError(
      "attribute: \(outcome) after \(fit.iterations) iterations"
        + String(
          format: " (%.1fs), gradient max-norm %.2e, objective %.6f", Date().timeIntervalSince(started),
          fit.gradientNorm, fit.objective))

    let surrogateLogits = try surrogate.logits(testRows)
    let networkLogitValues = testLogitArray.float64Values()
    let faithfulness = try FaithfulnessReport.measure(
      networkLogits: networkLogitValues, surrogateLogits: surrogateLogits, classCount: classCount,
      labels: testLabelValues)

    printError("attribute: attributing \(m) test points")
    let listed = min(topK, n)
    let attributor = try Attributor(model: surrogate, trainLabels: trainLabelValues)
    let points = try (0..<m).map { row in
      try attributor.explain(
        testRows, row: row, topK: listed,
        networkLogits: Array(networkLogitValues[(row * classCount)..<((row + 1) * classCount)]),
        label: testLabelValues?[row])
    }
    let layerNames = trainRows.layerCount > 1 ? trainSource.folder?.parameterGroups?.map(\.name) : nil
    let attributions = AttributionsFile(
      classCount: classCount, trainCount: n, testCount: m, layerCount: trainRows.layerCount,
      layerNames: layerNames?.count == trainRows.layerCount ? layerNames : nil, topK: listed, testPoints: points)
    let metrics = MetricsFile(target: target, settings: settings, fit: fit, faithfulness: faithfulness)

    let baselines = try baselineScores(
      network: network, trainInputs: trainInputs, trainLabels: trainLabelValues, testInputs: testInputs,
      testClasses: testLabelValues ?? ClassLabels.argmax(networkLogitValues, classCount: classCount))
    let modelRecords = try network.records()
    var manifest = Manifest(
      entkVersion: EntkVersion.current, createdAt: ISO8601DateFormatter().string(from: Date()),
      commandLine: CommandLine.arguments,
      model: modelRecords.first, models: modelRecords.isEmpty ? nil : modelRecords,
      data: try dataRecords(
        computed ? nil : (trainSource, testSource), trainCount: n, trainLabelArray, testLabelArray, testLogitArray,
        trainInputs, testInputs) + texts.dataRecords(),
      kernel: kernelRecord(
        trainSource, testSource, computed: computed, layerCount: trainRows.layerCount, n: n, m: m,
        layerNames: attributions.layerNames),
      seed: trainSource.folder?.projection?.seed ?? seed, metrics: metrics.summary)
    manifest.baselines = baselines.isEmpty ? nil : baselines.map(\.record)
    var bundle = AttributionBundle(
      manifest: manifest, metrics: metrics, attributions: attributions,
      trainKernel: NPYArray(float32: trainSource.array.float32Values(), shape: trainSource.array.shape),
      testKernel: NPYArray(float32: testSource.array.float32Values(), shape: testSource.array.shape),
      surrogateWeights: NPYArray(float64: surrogate.weights, shape: [classCount, surrogate.width]),
      surrogateBias: NPYArray(float64: surrogate.bias, shape: [classCount]),
      networkTestLogits: NPYArray(float32: testLogitArray.float32Values(), shape: [m, classCount]),
      surrogateTestLogits: NPYArray(float64: surrogateLogits, shape: [m, classCount]),
      trainLabels: NPYArray(int64: trainLabelValues.map { Int64($0) }, shape: [n]),
      fitTargets: target == "labels" ? nil : NPYArray(int64: fitTargets.map { Int64($0) }, shape: [n]),
      testLabels: testLabelValues.map { NPYArray(int64: $0.map { Int64($0) }, shape: [m]) },
      trainInputs: try trainInputs?.pictures(), testInputs: try testInputs?.pictures(), texts: texts.bundleTexts)
    for (record, scores) in baselines {
      bundle.baselineScores[record.file] = NPYArray(float32: scores, shape: [m, n])
    }
    try bundle.write(to: outURL, replaceExisting: force) { printError("attribute: \($0)") }

    let reportPath = outURL.appendingPathComponent(BundleFormat.report).path
    if json {
      try printJSON(Summary(bundle: outURL.path, report: reportPath, metrics: metrics.summary, fit: fit))
    } else {
      print(MetricsText.lines(metrics, kind: manifest.kernel.kind).joined(separator: "\n"))
      print("bundle  \(outURL.path)")
      print("report  \(reportPath)")
    }
  }

  /// The `--baseline` methods' records and scores ([M, N]), the test points' scores for
  /// `testClasses` (their labels, or the network's predictions without labels).
  private func baselineScores(
    network: EnsembleLogits, trainInputs: AttributeSamples?, trainLabels: [Int], testInputs: AttributeSamples?,
    testClasses: [Int]
  ) throws -> [(record: Manifest.BaselineRecord, scores: [Float])] {
    guard !baseline.isEmpty else { return [] }
    guard let backend = network.backend, !network.models.isEmpty, let trainInputs, let testInputs else {
      throw AttributeError.missingBaselineInputs(
        needed: "have backend: \(network.backend ?? "no"), model: \(network.models.first ?? "no")")
    }
    let methods = LossGradientMethod.allCases.filter(baseline.contains)
    let scores = try BaselineScores.compute(
      methods: methods, backend: backend, models: network.models, options: network.options,
      train: trainInputs, trainLabels: trainLabels, test: testInputs, testClasses: testClasses)
    return methods.map { method in
      (
        Manifest.BaselineRecord(
          method: method.rawValue, file: BundleFormat.baselineScores(method: method.rawValue),
          referenceClass: testLabels == nil ? "network-prediction" : "label"),
        scores[method] ?? []
      )
    }
  }

  /// The inputs' files with their checksums; kernels only when given (computed ones are in the
  /// bundle, and their working folder is gone).
  private func dataRecords(
    _ kernels: (train: KernelSource, test: KernelSource)?, trainCount: Int, _ trainLabelArray: NPYArray,
    _ testLabelArray: NPYArray?,
    _ testLogitArray: NPYArray, _ trainInputs: AttributeSamples?, _ testInputs: AttributeSamples?
  ) throws -> [Manifest.DataRecord] {
    func record(_ role: String, _ path: String?, _ shape: [Int]?) throws -> Manifest.DataRecord? {
      guard let path, let shape else { return nil }
      return Manifest.DataRecord(
        role: role, path: path, sha256: try SHA256.hex(fileAt: URL(fileURLWithPath: path)), shape: shape)
    }
    return try [
      record("train-kernel", kernels?.train.file.path, kernels?.train.array.shape),
      record("test-kernel", kernels?.test.file.path, kernels?.test.array.shape),
      record("train-labels", trainLabels, trainLabelArray.shape),
      record("test-labels", testLabels, testLabelArray?.shape),
      record("test-logits", testLogits, testLogitArray.shape),
      record(
        "train-logits", target == "network-predictions" ? trainLogits : nil,
        [trainCount, testLogitArray.shape[1]]),
    ].compactMap { $0 } + (try trainInputs?.records() ?? []) + (try testInputs?.records() ?? [])
  }

  private func kernelRecord(
    _ trainSource: KernelSource, _ testSource: KernelSource, computed: Bool, layerCount: Int, n: Int, m: Int,
    layerNames: [String]?
  ) -> Manifest.KernelRecord {
    var settings: [String: String] = [:]
    if let folder = trainSource.folder {
      settings["normalize"] = folder.normalize
      if let projection = folder.projection {
        settings["projectionDim"] = String(projection.dim)
        settings["projectionDistribution"] = projection.distribution
        settings["projectionSeed"] = String(projection.seed)
        if let density = projection.density { settings["projectionDensity"] = String(density) }
      }
      if !computed { settings["trainKernelFolder"] = trainSource.path }
    }
    if testSource.folder != nil && !computed { settings["testKernelFolder"] = testSource.path }
    return Manifest.KernelRecord(
      kind: trainSource.kind(fallback: kernelKind ?? "precomputed"), layerCount: layerCount, layerNames: layerNames,
      trainCount: n,
      testCount: m, settings: settings)
  }
}
