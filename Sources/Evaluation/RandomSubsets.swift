/// The random training subsets of a linear datamodeling evaluation: K subsets of ⌊αN⌉ of the N
/// training points, each drawn without replacement.
public enum RandomSubsets {
  /// The size of each subset: αN rounded to the nearest integer (halves up), at least 1 and at most N − 1.
  public static func size(trainCount n: Int, fraction: Double) -> Int {
    min(n - 1, max(1, Int((fraction * Double(n)).rounded(.toNearestOrAwayFromZero))))
  }

  /// Subset `index` (0-based) for `seed`: the first `size` positions of a Fisher–Yates shuffle of
  /// 0..<n driven by `SplitMix64(seed: seed ^ (index · 0x9E3779B97F4A7C15))`, in ascending order.
  ///
  /// Each subset depends only on (seed, index, n, size), so subsets can be drawn in any order, on
  /// any machine, and a plan's subset k is the same whoever draws it.
  public static func subset(index: Int, seed: UInt64, trainCount n: Int, size: Int) -> [Int] {
    precondition(size >= 0 && size <= n, "size must be in 0...n")
    var generator = SplitMix64(seed: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
    var order = Array(0..<n)
    for position in 0..<size {
      let pick = position + generator.below(n - position)
      order.swapAt(position, pick)
    }
    return order.prefix(size).sorted()
  }
}
