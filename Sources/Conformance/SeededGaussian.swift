/// Deterministic standard-normal samples from SplitMix64 and Box–Muller, so a conformance run
/// uses the same inputs and directions on every machine.
struct SeededGaussian {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  private mutating func nextUInt64() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform double in (0, 1).
  mutating func uniform() -> Double { (Double(nextUInt64() >> 11) + 0.5) / Double(1 << 53) }

  mutating func next() -> Double {
    let radius = (-2 * log(uniform())).squareRoot()
    return radius * cos(2 * Double.pi * uniform())
  }

  mutating func vector(_ count: Int) -> [Double] { (0..<count).map { _ in next() } }

  mutating func index(below bound: Int) -> Int { Int(nextUInt64() % UInt64(bound)) }
}

#if canImport(Glibc)
  import Glibc
#endif
