import Faithfulness

/// Spearman's rank correlation coefficient.
public enum SpearmanCorrelation {
  /// ρ = Pearson's r of the ranks of x and of y, tied values sharing the mean of their ranks
  /// (scipy.stats.spearmanr's definition).
  /// - Returns: ρ in [−1, 1], or nil when n < 2 or either variable is constant (undefined).
  public static func rho(_ x: [Double], _ y: [Double]) -> Double? {
    precondition(x.count == y.count, "x and y must have the same length")
    return PearsonCorrelation.r(ranks(x), ranks(y))
  }

  /// Ranks 1…n of `values` in ascending order, ties given the mean of the ranks they span.
  public static func ranks(_ values: [Double]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var start = 0
    while start < order.count {
      var end = start
      while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
      // Positions start...end (0-based) hold ranks start+1...end+1; their mean:
      let shared = Double(start + end + 2) / 2
      for position in start...end { ranks[order[position]] = shared }
      start = end + 1
    }
    return ranks
  }
}
