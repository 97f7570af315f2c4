import Foundation

/// e^x and erf(x) eight floats at a time, for the element-wise operators that a transformer
/// runs on every activation (Softmax's exponentials, Erf's GELU and its derivative): a call of
/// the C library's `expf` or `erff` per element cost more than the arithmetic around it.
///
/// - `exp`: Cephes' `expf` (range reduction by ln 2 in two parts, a degree-6 polynomial), within
///   2 ulp of the exact value where the result and 2^n are normal floats (−87.3 < x < 88); the
///   lanes outside, and NaN, go to the C library, so that −∞ gives exactly 0 (masked attention),
///   large values ∞ and the subnormal results stay exact.
/// - `erf`: for |x| < 0.5 the Taylor series to x¹³ (relative error below 1e-7), else Abramowitz
///   and Stegun 7.1.26, 1 − t·P(t)·e^(−x²) with t = 1/(1 + 0.3275911·|x|), as PyTorch's
///   vectorised CPU erf (absolute error below 4e-7 in float32, 1.5e-7 in exact arithmetic); NaN
///   stays NaN.
enum VectorExponential {
  typealias Lanes = SIMD8<Float>

  /// e^x of each lane.
  @inline(__always)
  static func exp(_ x: Lanes) -> Lanes {
    let inRange = (x .> -87.3) .& (x .< 88)
    guard all(inRange) else {
      var y = Lanes()
      for i in 0..<Lanes.scalarCount { y[i] = inRange[i] ? exp(Lanes(repeating: x[i]))[0] : Foundation.exp(x[i]) }
      return y
    }
    // n = x/ln 2 rounded to the nearest integer, by adding and removing 1.5·2²³: the sum's low
    // mantissa bits are then n itself (|n| ≤ 127 here), which gives 2^n's exponent bits below.
    let shifted = x * 1.442_695_040_888_963_4 + 12_582_912
    let n = shifted - 12_582_912
    let r = x - n * 0.693_359_375 - n * -2.121_944_4e-4
    var p = Lanes(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    let y = p * (r * r) + r + 1
    let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    return y * unsafeBitCast(exponent, to: Lanes.self)
  }

  /// erf of each lane.
  @inline(__always)
  static func erf(_ x: Lanes) -> Lanes {
    let a = x.replacing(with: -x, where: x .< 0)
    // Abramowitz and Stegun 7.1.26; e^(−x²) is below float32's resolution of 1 past x² = 87.
    let t = 1 / (1 + 0.327_591_1 * a)
    var p = Lanes(repeating: 1.061_405_429)
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    let square = a * a
    let far = 1 - t * p * exp(-square.replacing(with: 87, where: square .> 87))
    // The Taylor series of 2/√π · (x − x³/3 + x⁵/10 − x⁷/42 + x⁹/216 − x¹¹/1320 + x¹³/9360).
    var q = Lanes(repeating: 1 / 9360)
    q = q * square - 1 / 1320
    q = q * square + 1 / 216
    q = q * square - 1 / 42
    q = q * square + 1 / 10
    q = q * square - 1 / 3
    q = q * square + 1
    let near = 1.128_379_167_095_512_6 * a * q
    let magnitude = near.replacing(with: far, where: a .>= 0.5)
    // NaN compares false everywhere: it keeps its own value, not a sign.
    return magnitude.replacing(with: -magnitude, where: x .< 0).replacing(with: x, where: x .!= x)
  }

  /// Applies `lanes` to `count` floats at `x`, into `y` (which may be `x`); the tail of fewer
  /// than eight goes through the same function, padded.
  @inline(__always)
  static func map(
    _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, _ lanes: (Lanes) -> Lanes
  ) {
    let width = Lanes.scalarCount
    var i = 0
    while i + width <= count {
      UnsafeMutableRawPointer(y + i).storeBytes(
        of: lanes(UnsafeRawPointer(x + i).loadUnaligned(as: Lanes.self)), as: Lanes.self)
      i += width
    }
    guard i < count else { return }
    var tail = Lanes()
    for k in 0..<(count - i) { tail[k] = x[i + k] }
    let result = lanes(tail)
    for k in 0..<(count - i) { y[i + k] = result[k] }
  }
}
