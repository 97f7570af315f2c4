/// Seeded label noise for mislabel detection: a fraction of the training labels, each changed to
/// another class drawn uniformly.
public struct LabelFlips: Sendable, Codable, Equatable {
  /// The flipped training points, ascending.
  public var indices: [Int]
  /// The labels after flipping, one per training point.
  public var labels: [Int]

  /// Flips ⌊f·N⌉ labels (rounded to nearest, within 1…N): the points are
  /// `RandomSubsets.subset(index: 0, seed: seed, …)`, and point i's new label is
  /// (y_i + 1 + r) mod C with r = `SplitMix64(seed: ~seed).below(C − 1)` drawn in ascending order of i.
  public init(labels original: [Int], classCount: Int, fraction: Double, seed: UInt64) {
    precondition(classCount >= 2 && !original.isEmpty, "at least one label and two classes")
    let n = original.count
    let count = min(n, max(1, Int((fraction * Double(n)).rounded(.toNearestOrAwayFromZero))))
    indices = RandomSubsets.subset(index: 0, seed: seed, trainCount: n, size: count)
    var generator = SplitMix64(seed: ~seed)
    labels = original
    for i in indices { labels[i] = (original[i] + 1 + generator.below(classCount - 1)) % classCount }
  }
}

/// Mislabel detection results: how well each method's self-influence ranks the flipped points first.
public struct MislabelDetection: Sendable, Codable, Equatable {
  /// One method's ranking.
  public struct Method: Sendable, Codable, Equatable {
    /// "kglm" or "grad-dot".
    public var method: String
    /// What ranks the points (docs/evaluate.md).
    public var measure: String
    public var curve: DetectionCurve

    public init(method: String, measure: String, curve: DetectionCurve) {
      self.method = method
      self.measure = measure
      self.curve = curve
    }
  }

  /// The fraction of labels flipped and the seed of the flips.
  public var fraction: Double
  public var seed: UInt64
  public var methods: [Method]

  public init(fraction: Double, seed: UInt64, methods: [Method]) {
    self.fraction = fraction
    self.seed = seed
    self.methods = methods
  }
}
