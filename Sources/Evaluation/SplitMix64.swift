/// SplitMix64 (Steele, Lea and Flood 2014; the generator Java's SplittableRandom and the
/// xoshiro authors' seeding use): a 64-bit state advanced by 0x9E3779B97F4A7C15 and mixed, so a
/// seed gives the same sequence on every machine and in any language.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform integer in 0..<bound by rejection (no modulo bias); bound ≥ 1.
  public mutating func below(_ bound: Int) -> Int {
    precondition(bound >= 1, "bound must be at least 1")
    let b = UInt64(bound)
    // The largest multiple of b that fits in 2⁶⁴, as a threshold on the low end.
    let threshold = (0 &- b) % b
    while true {
      let value = next()
      if value >= threshold { return Int(value % b) }
    }
  }
}
