import ArrayIO
import Attribution
import BackendLoader
import Faithfulness
import Foundation
import Kernels
import Reporter
import Surrogate

/// The attribution pipeline from kernels to a bundle: reads (or computes) the kernels, fits the
/// kGLM surrogate logits_hat(x) = W k(x, X) + b by L-BFGS, measures its faithfulness to the
/// network, attributes every test point to the training points, and writes the bundle
/// (docs/method.md, docs/bundle.md).
public struct AttributionPipeline {
  public var request: AttributionRequest
  /// Receives progress lines (the CLI prints them on stderr).
  public var log: (String) -> Void

  public init(request: AttributionRequest, log: @escaping (String) -> Void = { _ in }) {
    self.request = request
    self.log = log
  }

  /// What a finished run wrote.
  public struct Outcome {
    /// The bundle folder.
    public var bundle: URL
    /// The bundle's `metrics.json`.
    public var metrics: MetricsFile
    /// The kernel kind the manifest records.
    public var kernelKind: String
  }

  /// Runs the pipeline and writes the bundle at `out`, under a temporary name beside it that is
  /// renamed when complete; computed kernels live in a hidden folder beside `out` until then.
  /// - Parameter replaceExisting: replace a file or bundle at `out`; otherwise one there is
  ///   refused (`ReporterError.bundleExists`) before any work.
  public func write(to out: URL, replaceExisting: Bool) throws -> Outcome {
    try request.check()
    if !replaceExisting, FileManager.default.fileExists(atPath: out.path) {
      throw ReporterError.bundleExists(path: out.path)
    }
    // Read before the kernels are computed, so a missing or non-UTF-8 file fails before any work.
    let texts = try SampleTextFiles(train: request.trainText, test: request.testText)
    switch request.kernels {
    case .compute(let settings, let threads):
      if !texts.isEmpty {
        // The kernels will have a row per sample of train and test: texts of other lengths fail now.
        try texts.checkCounts(
          train: AttributeSamples(role: "train", arguments: request.train).rowCount,
          test: AttributeSamples(role: "test", arguments: request.test).rowCount)
      }
      let backend = request.backend ?? ""
      let ensemble = try ModelEnsemble.open(backend: backend, models: request.models, options: request.options)
      let kernels = try EnsembleKernels.compute(
        settings: settings, backend: backend, ensemble: ensemble, options: request.options,
        trainInputs: DataSource(arguments: request.train), testInputs: DataSource(arguments: request.test),
        threads: threads, beside: out, log: log)
      return try attribute(
        train: kernels.train, test: kernels.test, computed: true, texts: texts, out: out,
        replaceExisting: replaceExisting)
    case .precomputed(let train, let test, _):
      log("attribute: reading kernels")
      return try attribute(
        train: KernelSource(path: train), test: KernelSource(path: test), computed: false, texts: texts, out: out,
        replaceExisting: replaceExisting)
    }
  }

  /// Fits, measures and writes the bundle from the two kernels; `computed` when this run made them
  /// (their working folder is then not recorded, as it does not outlive the run).
  private func attribute(
    train trainSource: KernelSource, test testSource: KernelSource, computed: Bool, texts: SampleTextFiles, out: URL,
    replaceExisting: Bool
  ) throws -> Outcome {
    let request = self.request
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
      throw AttributeError.kernelsDisagree(reason: "kinds \(a.rawValue) and \(b.rawValue)")
    }
    let m = testRows.count
    try texts.checkCounts(train: n, test: m)

    // Counted now, checked against the classes once the logits give C.
    let trainLabels = try LabelFile(path: request.trainLabels, count: n)
    let testLabels = try request.testLabels.map { try LabelFile(path: $0, count: m) }
    let trainLabelValues = trainLabels.values
    let testLabelValues = testLabels?.values

    let trainInputs = request.train.isEmpty ? nil : try AttributeSamples(role: "train", arguments: request.train)
    let testInputs = request.test.isEmpty ? nil : try AttributeSamples(role: "test", arguments: request.test)
    try trainInputs?.checkCount(n)
    try testInputs?.checkCount(m)

    let network = EnsembleLogits(
      backend: request.backend ?? trainSource.folder?.backend,
      models: request.models.isEmpty ? (trainSource.folder?.model).map { [$0] } ?? [] : request.models,
      options: request.options ?? trainSource.folder?.options, log: log)
    let testLogitArray = try network.logits(role: "test", file: request.testLogits, inputs: testInputs, count: m)
    guard testLogitArray.shape.count == 2, testLogitArray.shape[1] >= 2 else {
      throw SurrogateError.logitsShape(
        name: request.testLogits ?? "test logits", expected: [m, -1], actual: testLogitArray.shape)
    }
    let classCount = testLogitArray.shape[1]
    try trainLabels.check(count: n, classCount: classCount)
    try testLabels?.check(count: m, classCount: classCount)

    var fitTargets = trainLabelValues
    if request.target == .networkPredictions {
      let trainLogitArray = try network.logits(
        role: "train", file: request.trainLogits, inputs: trainInputs, count: n)
      guard trainLogitArray.shape == [n, classCount] else {
        throw SurrogateError.logitsShape(
          name: request.trainLogits ?? "train logits", expected: [n, classCount], actual: trainLogitArray.shape)
      }
      fitTargets = ClassLabels.argmax(trainLogitArray.float32Values(), classCount: classCount)
    }

    let (surrogate, fit) = try fitSurrogate(
      rows: trainRows, targets: fitTargets, classCount: classCount)
    let surrogateLogits = try surrogate.logits(testRows)
    let networkLogitValues = testLogitArray.float64Values()
    let faithfulness = try FaithfulnessReport.measure(
      networkLogits: networkLogitValues, surrogateLogits: surrogateLogits, classCount: classCount,
      labels: testLabelValues)

    log("attribute: attributing \(m) test points")
    let listed = min(request.topK, n)
    let attributor = try Attributor(model: surrogate, trainLabels: trainLabelValues)
    let points = try (0..<m).map { row in
      try attributor.explain(
        testRows, row: row, topK: listed,
        networkLogits: Array(networkLogitValues[(row * classCount)..<((row + 1) * classCount)]),
        label: testLabelValues?[row])
    }
    let layerNames = trainRows.layerCount > 1 ? trainSource.folder?.parameterGroups.map(\.name) : nil
    let attributions = AttributionsFile(
      classCount: classCount, trainCount: n, testCount: m, layerCount: trainRows.layerCount,
      layerNames: layerNames?.count == trainRows.layerCount ? layerNames : nil, topK: listed, testPoints: points)
    let metrics = MetricsFile(
      target: request.target.rawValue, settings: request.surrogate, fit: fit, faithfulness: faithfulness)

    let baselines = try baselineScores(
      network: network, trainInputs: trainInputs, trainLabels: trainLabelValues, testInputs: testInputs,
      testClasses: testLabelValues ?? ClassLabels.argmax(networkLogitValues, classCount: classCount))
    let modelRecords = try network.records()
    let kernelRecord = kernelRecord(
      trainSource, testSource, computed: computed, layerCount: trainRows.layerCount, n: n, m: m,
      layerNames: attributions.layerNames)
    var manifest = Manifest(
      entkVersion: EntkVersion.current, createdAt: ISO8601DateFormatter().string(from: Date()),
      commandLine: request.commandLine,
      model: modelRecords.first, models: modelRecords.isEmpty ? nil : modelRecords,
      data: try dataRecords(
        computed ? nil : (trainSource, testSource), trainCount: n, trainLabels, testLabels, testLogitArray,
        trainInputs, testInputs) + texts.dataRecords(),
      kernel: kernelRecord, seed: trainSource.folder?.projection?.seed ?? request.seed, metrics: metrics.summary)
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
      fitTargets: request.target == .labels ? nil : NPYArray(int64: fitTargets.map { Int64($0) }, shape: [n]),
      testLabels: testLabelValues.map { NPYArray(int64: $0.map { Int64($0) }, shape: [m]) },
      trainInputs: try trainInputs?.pictures(), testInputs: try testInputs?.pictures(), texts: texts.bundleTexts)
    for (record, scores) in baselines {
      bundle.baselineScores[record.file] = NPYArray(float32: scores, shape: [m, n])
    }
    try bundle.write(to: out, replaceExisting: replaceExisting) { log("attribute: \($0)") }
    return Outcome(bundle: out, metrics: metrics, kernelKind: kernelRecord.kind)
  }

  /// Fits the kGLM to `targets` with the request's settings, logging progress every 5 seconds.
  private func fitSurrogate(rows: KernelRows, targets: [Int], classCount: Int) throws -> (KGLM, KGLMFitReport) {
    let settings = request.surrogate
    log(
      "attribute: fitting the kGLM on \(rows.count) training points × \(rows.layerCount) kernel(s), \(classCount) classes"
    )
    let started = Date()
    var lastReport = Date()
    let (surrogate, fit) = try KGLM.fit(
      rows: rows, labels: targets, classCount: classCount, settings: settings,
      labelsName: request.target == .labels ? request.trainLabels : "network's train predictions"
    ) { progress in
      guard Date().timeIntervalSince(lastReport) >= 5 else { return }
      lastReport = Date()
      log(
        String(
          format: "attribute: iteration %d, objective %.6f, gradient max-norm %.2e (stops at %.0e)", progress.iteration,
          progress.objective, progress.gradientNorm, settings.gradientTolerance))
    }
    let outcome = fit.converged ? "converged" : "NOT converged (\(fit.stopReason))"
    log(
      "attribute: \(outcome) after \(fit.iterations) iterations"
        + String(
          format: " (%.1fs), gradient max-norm %.2e, objective %.6f", Date().timeIntervalSince(started),
          fit.gradientNorm, fit.objective))
    return (surrogate, fit)
  }

  /// The requested baselines' records and scores ([M, N]), the test points' scores for
  /// `testClasses` (their labels, or the network's predictions without labels).
  private func baselineScores(
    network: EnsembleLogits, trainInputs: AttributeSamples?, trainLabels: [Int], testInputs: AttributeSamples?,
    testClasses: [Int]
  ) throws -> [(record: Manifest.BaselineRecord, scores: [Float])] {
    guard !request.baselines.isEmpty else { return [] }
    guard let backend = network.backend, !network.models.isEmpty, let trainInputs, let testInputs else {
      throw AttributeError.missingBaselineInputs(
        needed: "have backend: \(network.backend ?? "no"), model: \(network.models.first ?? "no")")
    }
    let methods = LossGradientMethod.allCases.filter(request.baselines.contains)
    let scores = try BaselineScores.compute(
      methods: methods, backend: backend, models: network.models, options: network.options,
      train: trainInputs, trainLabels: trainLabels, test: testInputs, testClasses: testClasses, log: log)
    return methods.map { method in
      (
        Manifest.BaselineRecord(
          method: method.rawValue, file: BundleFormat.baselineScores(method: method.rawValue),
          referenceClass: request.testLabels == nil ? "network-prediction" : "label"),
        scores[method] ?? []
      )
    }
  }

  /// The inputs' files with their checksums; kernels only when given (computed ones are in the
  /// bundle, and their working folder is gone).
  private func dataRecords(
    _ kernels: (train: KernelSource, test: KernelSource)?, trainCount: Int, _ trainLabels: LabelFile,
    _ testLabels: LabelFile?,
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
      record("train-labels", trainLabels.path, trainLabels.shape),
      record("test-labels", testLabels?.path, testLabels?.shape),
      record("test-logits", request.testLogits, testLogitArray.shape),
      record(
        "train-logits", request.target == .networkPredictions ? request.trainLogits : nil,
        [trainCount, testLogitArray.shape[1]]),
    ].compactMap { $0 } + (try trainInputs?.records() ?? []) + (try testInputs?.records() ?? [])
  }

  private func kernelRecord(
    _ trainSource: KernelSource, _ testSource: KernelSource, computed: Bool, layerCount: Int, n: Int, m: Int,
    layerNames: [String]?
  ) -> Manifest.KernelRecord {
    var settings: [String: String] = [:]
    if let folder = trainSource.folder {
      settings["normalize"] = folder.normalize.rawValue
      if let projection = folder.projection {
        settings["projectionDim"] = String(projection.dim)
        settings["projectionDistribution"] = projection.distribution.rawValue
        settings["projectionSeed"] = String(projection.seed)
        if let density = projection.density { settings["projectionDensity"] = String(density) }
      }
      if !computed { settings["trainKernelFolder"] = trainSource.path }
    }
    if testSource.folder != nil && !computed { settings["testKernelFolder"] = testSource.path }
    var fallback = "precomputed"
    if case .precomputed(_, _, let kind?) = request.kernels { fallback = kind }
    return Manifest.KernelRecord(
      kind: trainSource.kind(fallback: fallback), layerCount: layerCount, layerNames: layerNames, trainCount: n,
      testCount: m, settings: settings)
  }
}
