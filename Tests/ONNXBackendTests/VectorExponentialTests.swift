import Foundation
import Testing

@testable import ONNXBackend

/// `VectorExponential` against the C library's float64 exp and erf.
struct VectorExponentialTests {
  /// The vector function of every value in `xs`, through `map` (whole vectors and a tail).
  static func mapped(_ xs: [Float], _ lanes: (VectorExponential.Lanes) -> VectorExponential.Lanes) -> [Float] {
    var ys = [Float](repeating: 0, count: xs.count)
    xs.withUnsafeBufferPointer { x in
      ys.withUnsafeMutableBufferPointer { y in
        if let x = x.baseAddress, let y = y.baseAddress { VectorExponential.map(x, count: xs.count, into: y, lanes) }
      }
    }
    return ys
  }

  /// Every 997th float32 between −100 and 100 by bit pattern (about 4 million), and 3 more for a tail.
  static let samples: [Float] = {
    var xs: [Float] = []
    for sign: Float in [1, -1] {
      var bits = Float(1e-30).bitPattern
      while Float(bitPattern: bits) < 100 {
        xs.append(sign * Float(bitPattern: bits))
        bits += 997
      }
    }
    return xs + [0, -0.0, 1]
  }()

  @Test func expIsWithinTwoUlpsAndExactOutsideTheNormalRange() {
    let ys = Self.mapped(Self.samples, VectorExponential.exp)
    var worst: (Float, Double) = (0, 0)
    for (x, y) in zip(Self.samples, ys) {
      let exact = Foundation.exp(Double(x))
      if x <= -87.3 || x >= 88 {
        #expect(y == Foundation.exp(x), "e^\(x)")
        continue
      }
      let ulps = abs(Double(y) - exact) / Double(Float(exact).ulp)
      if ulps > worst.1 { worst = (x, ulps) }
    }
    #expect(worst.1 <= 2, "e^\(worst.0) is \(worst.1) ulps off")
    let special = Self.mapped([-.infinity, .infinity, .nan, -200, 200, -100], VectorExponential.exp)
    #expect(special[0] == 0 && special[1] == .infinity && special[2].isNaN && special[3] == 0)
    #expect(special[4] == .infinity && special[5] == Foundation.exp(Float(-100)) && special[5] > 0)
  }

  @Test func erfIsWithinFourTenMillionthsAndRelativelyCloseNearZero() {
    let ys = Self.mapped(Self.samples, VectorExponential.erf)
    var (worstAbsolute, worstRelative): (Double, Double) = (0, 0)
    for (x, y) in zip(Self.samples, ys) {
      let exact = Foundation.erf(Double(x))
      let error = abs(Double(y) - exact)
      worstAbsolute = max(worstAbsolute, error)
      if abs(x) < 0.5 && exact != 0 { worstRelative = max(worstRelative, error / abs(exact)) }
      #expect((y < 0) == (x < 0) || y == 0, "erf(\(x)) = \(y)")
    }
    #expect(worstAbsolute <= 4e-7)
    #expect(worstRelative <= 1e-6)
    let special = Self.mapped([-.infinity, .infinity, .nan, 0, -0.0], VectorExponential.erf)
    #expect(special[0] == -1 && special[1] == 1 && special[2].isNaN && special[3] == 0 && special[4] == 0)
  }
}
