/// One training point's contribution to one class's surrogate logit at one test point.
public struct Contribution: Sendable, Codable, Equatable {
  /// Row of the training point in the training data (0-based).
  public var trainIndex: Int
  /// Σ_l W[c, l·N + i] · k_l(x, x_i), in logit units: positive pushes the class up (proponent),
  /// negative pushes it down (opponent).
  public var score: Double
  /// The training point's label, when training labels are known.
  public var trainLabel: Int?
  /// Per-layer parts of `score` (NFT-K, [L]); nil for a single kernel.
  public var layerScores: [Double]?
}

/// The explanation of one class's surrogate logit at one test point.
public struct ClassAttribution: Sendable, Codable, Equatable {
  /// The class c.
  public var classIndex: Int
  /// The surrogate's logit for c: `bias + contributionSum`.
  public var logit: Double
  /// b_c.
  public var bias: Double
  /// Σ over all training points (and layers) of W[c, ·] · k(x, ·).
  public var contributionSum: Double
  /// Σ_i of layer l's contributions, for each layer.
  ///
  /// [L] values, one for a single kernel; they add up to `contributionSum`. NFT-K reads each layer's share of the prediction from these.
  public var layerContributions: [Double]
  /// The training points with the largest positive contributions, largest first (at most top-k).
  public var proponents: [Contribution]
  /// The training points with the most negative contributions, most negative first (at most
  /// top-k).
  public var opponents: [Contribution]
}

/// The explanation of one test point: every class's logit split over the training points.
public struct TestPointAttribution: Sendable, Codable, Equatable {
  /// Row of the test point in the test data (0-based).
  public var testIndex: Int
  /// The true label, when test labels are known.
  public var label: Int?
  /// The network's predicted class, when the network's logits are known.
  public var networkPrediction: Int?
  /// The surrogate's predicted class.
  public var surrogatePrediction: Int
  /// One entry per class, in class order.
  public var classes: [ClassAttribution]
}
