import Evaluation

/// `metrics.json`'s `evaluation`: how the bundle's attributions fare against retraining
/// (`entk evaluate`, docs/evaluate.md).
public struct EvaluationMetrics: Sendable, Codable, Equatable {
  /// The retrained models the scores were measured against.
  public struct RetrainedSubsets: Sendable, Codable, Equatable {
    /// The `entk evaluate subsets` folder.
    public var folder: String
    /// K.
    public var subsetCount: Int
    /// Training points per subset, ⌊αN⌉.
    public var subsetSize: Int
    /// α.
    public var fraction: Double
    /// Seed of the subsets.
    public var seed: UInt64

    public init(folder: String, subsetCount: Int, subsetSize: Int, fraction: Double, seed: UInt64) {
      self.folder = folder
      self.subsetCount = subsetCount
      self.subsetSize = subsetSize
      self.fraction = fraction
      self.seed = seed
    }
  }

  /// The retrained models the LDS was measured against (with `lds`).
  public var retrained: RetrainedSubsets?
  /// One linear datamodeling score per attribution method in the bundle (kglm first).
  public var lds: [LinearDatamodelingScore]?
  /// Mislabel detection, for a bundle made by `entk evaluate mislabel` on flipped labels.
  public var mislabel: MislabelDetection?
  /// Remove-and-retrain of some test points' top proponents (`entk evaluate remove`).
  public var removal: RemovalEvaluation?

  public init(
    retrained: RetrainedSubsets? = nil, lds: [LinearDatamodelingScore]? = nil, mislabel: MislabelDetection? = nil,
    removal: RemovalEvaluation? = nil
  ) {
    self.retrained = retrained
    self.lds = lds
    self.mislabel = mislabel
    self.removal = removal
  }
}
