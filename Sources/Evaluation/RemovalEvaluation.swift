/// Remove-and-retrain: how a test point's margin moves when its top-k proponents, or as a control
/// as many random training points, are removed and the model retrained with the same settings.
public struct RemovalEvaluation: Sendable, Codable, Equatable {
  /// One retraining without some training points.
  public struct Retraining: Sendable, Codable, Equatable {
    /// The removed training points, ascending.
    public var removed: [Int]
    /// The retrained model's margin at the test point.
    public var margin: Double
    /// margin − the full model's margin.
    public var change: Double
    /// Whether the predicted class differs from the full model's.
    public var flipped: Bool

    public init(removed: [Int], margin: Double, change: Double, flipped: Bool) {
      self.removed = removed
      self.margin = margin
      self.change = change
      self.flipped = flipped
    }
  }

  /// One test point's two retrainings.
  public struct Point: Sendable, Codable, Equatable {
    public var testIndex: Int
    public var label: Int
    /// The margin of the model trained on all the training points with the same settings.
    public var fullMargin: Double
    public var proponents: Retraining
    public var random: Retraining

    public init(testIndex: Int, label: Int, fullMargin: Double, proponents: Retraining, random: Retraining) {
      self.testIndex = testIndex
      self.label = label
      self.fullMargin = fullMargin
      self.proponents = proponents
      self.random = random
    }
  }

  /// The method whose proponents were removed.
  public var method: String
  /// k: proponents removed per point (fewer where fewer scores are positive).
  public var topK: Int
  /// Seed of the random control sets.
  public var controlSeed: UInt64
  public var points: [Point]

  public init(method: String, topK: Int, controlSeed: UInt64, points: [Point]) {
    self.method = method
    self.topK = topK
    self.controlSeed = controlSeed
    self.points = points
  }

  /// The `count` training points with the largest positive scores, largest first, ties to the
  /// smaller index.
  public static func topProponents(_ scores: [Double], count: Int) -> [Int] {
    let order = scores.indices.filter { scores[$0] > 0 }.sorted {
      scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1)
    }
    return Array(order.prefix(count))
  }
}
