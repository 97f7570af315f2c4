/// SplitMix64: a small counter-based generator, so initialisation and shuffling are the same on
/// every machine for a given seed.
struct SeededRandom {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [-bound, bound), from the top 24 bits (exactly representable in float32).
  mutating func uniform(bound: Float) -> Float {
    let unit = Float(next() >> 40) / Float(1 << 24)
    return (2 * unit - 1) * bound
  }

  /// Uniform integer in 0..<upperBound (upperBound ≥ 1), by rejection so it is unbiased.
  mutating func index(below upperBound: Int) -> Int {
    let bound = UInt64(upperBound)
    let limit = UInt64.max - UInt64.max % bound
    while true {
      let value = next()
      if value < limit { return Int(value % bound) }
    }
  }

  /// A uniformly random permutation of 0..<count (Fisher–Yates).
  mutating func permutation(_ count: Int) -> [Int] {
    var order = Array(0..<count)
    var i = count - 1
    while i > 0 {
      order.swapAt(i, index(below: i + 1))
      i -= 1
    }
    return order
  }
}
