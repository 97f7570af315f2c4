/// Percentile bootstrap confidence interval of a mean.
public struct BootstrapInterval: Sendable, Codable, Equatable {
  /// The lower and upper ends.
  public var lower: Double
  public var upper: Double
  /// The coverage aimed at, such as 0.95.
  public var level: Double
  /// Resamples drawn.
  public var resamples: Int
  /// Seed of the `SplitMix64` generator that drew them.
  public var seed: UInt64

  public init(lower: Double, upper: Double, level: Double, resamples: Int, seed: UInt64) {
    self.lower = lower
    self.upper = upper
    self.level = level
    self.resamples = resamples
    self.seed = seed
  }

  /// The interval of the mean of `values`, nil for no values.
  ///
  /// `resamples` means of n values drawn with replacement (indices from
  /// `SplitMix64(seed:).below(n)`), sorted; the ends are the empirical (1 − level)/2 and
  /// (1 + level)/2 quantiles, linearly interpolated between order statistics (numpy.quantile's
  /// default).
  public static func ofMean(_ values: [Double], level: Double = 0.95, resamples: Int = 1000, seed: UInt64 = 0)
    -> BootstrapInterval?
  {
    guard !values.isEmpty, resamples >= 1 else { return nil }
    var generator = SplitMix64(seed: seed)
    var means: [Double] = []
    means.reserveCapacity(resamples)
    for _ in 0..<resamples {
      var sum = 0.0
      for _ in values.indices { sum += values[generator.below(values.count)] }
      means.append(sum / Double(values.count))
    }
    means.sort()
    return BootstrapInterval(
      lower: quantile(means, (1 - level) / 2), upper: quantile(means, (1 + level) / 2), level: level,
      resamples: resamples, seed: seed)
  }

  /// The q-quantile of sorted values, interpolating linearly at position q(n − 1).
  static func quantile(_ sorted: [Double], _ q: Double) -> Double {
    let position = q * Double(sorted.count - 1)
    let low = Int(position.rounded(.down))
    let high = min(low + 1, sorted.count - 1)
    return sorted[low] + (position - Double(low)) * (sorted[high] - sorted[low])
  }
}
