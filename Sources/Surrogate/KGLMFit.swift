import COpenBLAS

/// Settings of a kGLM fit.
public struct KGLMSettings: Sendable, Codable, Equatable {
  /// L2 strength α of the objective (see `KGLM.fit`).
  ///
  /// The default 1e-4 is the value of Engel et al., ICLR 2024.
  public var alpha: Double = 1e-4
  /// Per-point loss weights; class-balanced as in the paper.
  public var classWeighting: ClassWeighting = .balanced
  /// Largest number of L-BFGS iterations.
  public var maxIterations: Int = 5000
  /// Converged when ‖∇J‖_∞ ≤ this.
  public var gradientTolerance: Double = 1e-6
  /// Number of L-BFGS correction pairs kept.
  public var history: Int = 10

  public init() {}

  func validate() throws {
    guard alpha > 0, alpha.isFinite else {
      throw SurrogateError.invalidSetting(name: "alpha", value: "\(alpha)", reason: "must be a positive number")
    }
    guard maxIterations >= 1 else {
      throw SurrogateError.invalidSetting(
        name: "max iterations", value: "\(maxIterations)", reason: "must be at least 1")
    }
    guard gradientTolerance > 0 else {
      throw SurrogateError.invalidSetting(
        name: "gradient tolerance", value: "\(gradientTolerance)", reason: "must be positive")
    }
    guard history >= 1 else {
      throw SurrogateError.invalidSetting(name: "history", value: "\(history)", reason: "must be at least 1")
    }
  }
}

/// Where a running kGLM fit is, reported after each iteration.
public struct KGLMFitProgress: Sendable {
  public var iteration: Int
  /// J(W, b) at the current iterate.
  public var objective: Double
  /// ‖∇J‖_∞ at the current iterate (the fit stops when it reaches the tolerance).
  public var gradientNorm: Double
}

/// How a kGLM fit ended.
public struct KGLMFitReport: Sendable, Codable, Equatable {
  /// True when ‖∇J‖_∞ reached the tolerance.
  public var converged: Bool
  /// "gradient-tolerance", "no-progress" or "iteration-limit".
  public var stopReason: String
  public var iterations: Int
  /// Objective evaluations, line-search trials included.
  public var evaluations: Int
  /// J(W, b) at the solution.
  public var objective: Double
  /// ‖∇J‖_∞ at the solution.
  public var gradientNorm: Double
  /// Fraction of training points whose target class the surrogate predicts.
  public var trainAccuracy: Double
}

extension KGLM {
  /// Fits a kGLM by L-BFGS on the training kernel's rows.
  ///
  /// Deterministic: starts from W = 0, b = 0 and minimises, in float64,
  ///
  ///   J(W, b) = (1/n) Σ_i s_i · (−log softmax(W f_i + b)_{y_i}) + (α/2) ‖W‖²_F,
  ///
  /// with s_i from `settings.classWeighting` and the bias unpenalised: the same minimiser as
  /// scikit-learn's `LogisticRegression(C = 1 / (α n), class_weight = …)` (multinomial).
  /// - Parameters:
  ///   - rows: the train×train kernel rows (count = trainCount = N).
  ///   - labels: target class per training point, [N], each in 0..<classCount: ground truth, or
  ///     the network's own predictions.
  ///   - classCount: C.
  ///   - progress: called after every L-BFGS iteration.
  /// - Returns: the model and how the fit ended (check `converged`).
  public static func fit(
    rows: KernelRows, labels: [Int], classCount: Int, settings: KGLMSettings = KGLMSettings(),
    labelsName: String = "train labels", progress: (KGLMFitProgress) -> Void = { _ in }
  ) throws -> (model: KGLM, report: KGLMFitReport) {
    try settings.validate()
    guard rows.count == rows.trainCount else {
      throw SurrogateError.kernelShape(
        name: "train kernel", expected: "[N, N] or [L, N, N]",
        actual: rows.layerCount == 1 ? [rows.count, rows.trainCount] : [rows.layerCount, rows.count, rows.trainCount])
    }
    guard classCount >= 2 else {
      throw SurrogateError.invalidSetting(
        name: "class count", value: "\(classCount)", reason: "a classifier needs at least 2 classes")
    }
    try ClassLabels.validate(labels, count: rows.count, classCount: classCount, name: labelsName)
    // One OpenBLAS thread for the fit: its products are only C rows thick, so threads gain little
    // (and lose much on a busy machine), and a fixed thread count makes the rounding, hence every
    // iterate and the result, the same on every machine. Left so, as the kernel stage does:
    // restoring a count would race with a kernel computation in the same process.
    openblas_set_num_threads(1)
    let objective = KGLMObjective(
      features: rows.float64Values(), count: rows.count, width: rows.width, classCount: classCount, labels: labels,
      sampleWeights: settings.classWeighting.weights(labels: labels, classCount: classCount), alpha: settings.alpha)
    let solver = LBFGS(
      history: settings.history, maxIterations: settings.maxIterations, gradientTolerance: settings.gradientTolerance)
    let result = solver.minimize(
      from: [Double](repeating: 0, count: objective.parameterCount),
      progress: { progress(KGLMFitProgress(iteration: $0, objective: $1, gradientNorm: $2)) }, objective.evaluate)
    let (weights, bias) = objective.split(result.solution)
    let model = try KGLM(
      classCount: classCount, trainCount: rows.trainCount, layerCount: rows.layerCount, weights: weights, bias: bias)
    let predicted = ClassLabels.argmax(
      KGLM.logits(
        features: objective.features, count: rows.count, width: rows.width, weights: weights, bias: bias,
        classCount: classCount),
      classCount: classCount)
    let correct = zip(predicted, labels).filter { $0 == $1 }.count
    let report = KGLMFitReport(
      converged: result.stop == .gradientTolerance, stopReason: result.stop.rawValue, iterations: result.iterations,
      evaluations: result.evaluations, objective: result.value, gradientNorm: result.gradientNorm,
      trainAccuracy: Double(correct) / Double(labels.count))
    return (model, report)
  }
}
