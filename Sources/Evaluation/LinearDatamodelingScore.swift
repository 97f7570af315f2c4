/// The linear datamodeling score: how well summed attribution scores predict the margins of models
/// retrained on random subsets, test point by test point.
///
/// Park et al. 2023, "TRAK".
public struct LinearDatamodelingScore: Sendable, Codable, Equatable {
  /// One test point's predicted and actual margins over the subsets, for plots.
  public struct Example: Sendable, Codable, Equatable {
    public var testIndex: Int
    /// Spearman ρ of `predicted` and `actual`; absent where undefined.
    public var spearman: Double?
    /// Σ_{i ∈ S_k} score(i, x) for each subset k.
    public var predicted: [Double]
    /// The margin of the model retrained on S_k at x, for each k.
    public var actual: [Double]
  }

  /// The attribution method scored: "kglm", "grad-dot", "grad-cos".
  public var method: String
  /// Mean over the test points where ρ is defined; absent when it is defined nowhere.
  public var value: Double?
  /// Percentile bootstrap interval of `value`, resampling test points.
  public var interval: BootstrapInterval?
  /// M, the test points scored.
  public var testCount: Int
  /// Test points whose ρ is defined (neither the predicted nor the actual margins constant).
  public var definedCount: Int
  /// K, the retrained subsets.
  public var subsetCount: Int
  /// The first test points' margins (at most `exampleCount`).
  public var examples: [Example]

  /// Scores `scores` (float64 [M, N], row x holding score(i, x) for every training point i)
  /// against `margins` (K rows of M: the margin of the model retrained on `subsets[k]` at each test
  /// point).
  ///
  /// For test point x: predicted_k = Σ_{i ∈ S_k} score(i, x), ρ_x = Spearman(predicted, actual)
  /// over k; the score is the mean of the defined ρ_x, with a bootstrap interval over test points.
  public init(
    method: String, scores: [Double], trainCount n: Int, subsets: [[Int]], margins: [[Double]],
    exampleCount: Int = 4, resamples: Int = 1000, seed: UInt64 = 0
  ) {
    precondition(n > 0 && scores.count % n == 0, "scores must be [M, N]")
    let m = scores.count / n
    precondition(subsets.count == margins.count && margins.allSatisfy { $0.count == m }, "margins must be [K, M]")
    var rhos: [Double?] = []
    var examples: [Example] = []
    for x in 0..<m {
      let row = x * n
      let predicted = subsets.map { subset in subset.reduce(0.0) { $0 + scores[row + $1] } }
      let actual = margins.map { $0[x] }
      let rho = SpearmanCorrelation.rho(predicted, actual)
      rhos.append(rho)
      if x < exampleCount {
        examples.append(Example(testIndex: x, spearman: rho, predicted: predicted, actual: actual))
      }
    }
    let defined = rhos.compactMap { $0 }
    self.method = method
    self.value = defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    self.interval = BootstrapInterval.ofMean(defined, resamples: resamples, seed: seed)
    self.testCount = m
    self.definedCount = defined.count
    self.subsetCount = subsets.count
    self.examples = examples
  }
}
