/// Kendall's rank correlation τ-b, with ties in either variable handled.
public enum KendallTau {
  /// Kendall τ-b of x and y.
  ///
  /// τ-b = (n_c − n_d) / √((n₀ − n₁)(n₀ − n₂)), n₀ = n(n−1)/2, n₁ and n₂ the pairs tied in x and
  /// in y; computed in O(n log n) by Knight's algorithm (sort by x then y, count discordant pairs
  /// as merge-sort swaps of y). Counts are exact integers; the ratio is float64.
  /// - Returns: τ-b in [−1, 1], or nil when n < 2 or either variable is constant (undefined).
  public static func tauB(_ x: [Double], _ y: [Double]) -> Double? {
    precondition(x.count == y.count, "x and y must have the same length")
    let n = x.count
    guard n >= 2 else { return nil }
    var order = Array(0..<n)
    order.sort { x[$0] != x[$1] ? x[$0] < x[$1] : y[$0] < y[$1] }
    let totalPairs = n * (n - 1) / 2
    // Pairs tied in x, and tied in both x and y.
    var tiedX = 0
    var tiedXY = 0
    var start = 0
    while start < n {
      var end = start + 1
      while end < n && x[order[end]] == x[order[start]] { end += 1 }
      tiedX += (end - start) * (end - start - 1) / 2
      var runStart = start
      while runStart < end {
        var runEnd = runStart + 1
        while runEnd < end && y[order[runEnd]] == y[order[runStart]] { runEnd += 1 }
        tiedXY += (runEnd - runStart) * (runEnd - runStart - 1) / 2
        runStart = runEnd
      }
      start = end
    }
    // Discordant pairs: inversions of y in x-order (ties in x were sorted by y, so they add none).
    var values = order.map { y[$0] }
    var buffer = values
    let swaps = countInversions(&values, &buffer, 0, n)
    // After sorting, `values` is y in ascending order: count ties in y.
    var tiedY = 0
    start = 0
    while start < n {
      var end = start + 1
      while end < n && values[end] == values[start] { end += 1 }
      tiedY += (end - start) * (end - start - 1) / 2
      start = end
    }
    // n_c − n_d = n₀ − n₁ − n₂ + n₁₂ − 2·n_d.
    let difference = totalPairs - tiedX - tiedY + tiedXY - 2 * swaps
    let denominator = (Double(totalPairs - tiedX) * Double(totalPairs - tiedY)).squareRoot()
    guard denominator > 0 else { return nil }
    return Double(difference) / denominator
  }

  /// Sorts values[lo..<hi] ascending and returns the number of strict inversions (i < j with
  /// values[i] > values[j]).
  private static func countInversions(_ values: inout [Double], _ buffer: inout [Double], _ lo: Int, _ hi: Int) -> Int {
    guard hi - lo > 1 else { return 0 }
    let mid = (lo + hi) / 2
    var count = countInversions(&values, &buffer, lo, mid) + countInversions(&values, &buffer, mid, hi)
    var i = lo
    var j = mid
    var k = lo
    while i < mid && j < hi {
      if values[j] < values[i] {
        buffer[k] = values[j]
        count += mid - i
        j += 1
      } else {
        buffer[k] = values[i]
        i += 1
      }
      k += 1
    }
    while i < mid {
      buffer[k] = values[i]
      i += 1
      k += 1
    }
    while j < hi {
      buffer[k] = values[j]
      j += 1
      k += 1
    }
    for t in lo..<hi { values[t] = buffer[t] }
    return count
  }
}
