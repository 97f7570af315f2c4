/// Pearson's linear correlation coefficient.
public enum PearsonCorrelation {
  /// r = Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² Σ(y−ȳ)²), two-pass in float64.
  /// - Returns: r in [−1, 1], or nil when n < 2 or either variable is constant (undefined).
  public static func r(_ x: [Double], _ y: [Double]) -> Double? {
    precondition(x.count == y.count, "x and y must have the same length")
    let n = x.count
    guard n >= 2 else { return nil }
    let meanX = x.reduce(0, +) / Double(n)
    let meanY = y.reduce(0, +) / Double(n)
    var sxy = 0.0
    var sxx = 0.0
    var syy = 0.0
    for i in 0..<n {
      let dx = x[i] - meanX
      let dy = y[i] - meanY
      sxy += dx * dy
      sxx += dx * dx
      syy += dy * dy
    }
    guard sxx > 0, syy > 0 else { return nil }
    return max(-1, min(1, sxy / (sxx * syy).squareRoot()))
  }
}
