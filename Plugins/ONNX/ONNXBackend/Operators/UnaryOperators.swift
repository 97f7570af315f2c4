import Foundation

/// Element-wise float operators y = f(x) with derivative f'(x) written in terms of x and y.
enum UnaryOperators {
  /// One operator from its function and its derivative (x, y) -> dy/dx.
  static func unary(
    since: Int = 1, _ f: @escaping @Sendable (OperatorContext) throws -> (Float) -> Float,
    derivative: @escaping @Sendable (OperatorContext) throws -> (Float, Float) -> Float,
    integer: (@Sendable (Int64) -> Int64)? = nil
  ) -> OperatorDefinition {
    OperatorDefinition(
      since: since, differentiableInputs: [0],
      forward: { c in
        let x = try c.input(0)
        if let integer, case .int64(let values) = x.elements {
          return [Tensor(shape: x.shape, ints: values.map(integer))]
        }
        let function = try f(c)
        return [Tensor(shape: x.shape, floats: try c.floats(0).map(function))]
      },
      stackedBackward: { c, outputs, gradients, _, rows in
        guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
        let x = try c.floats(0)
        let y = try outputs[0].floats("output")
        guard g.count == rows * x.count else {
          throw ONNXError.shapeMismatch("\(rows) gradient rows of \(x.count) hold \(g.count) floats")
        }
        // The derivative depends on x and y only: evaluated once, shared by every row.
        let d = try derivative(c)
        var slope = [Float](repeating: 0, count: x.count)
        for i in 0..<x.count { slope[i] = d(x[i], y[i]) }
        return [Tensor(shape: [rows] + outputs[0].shape, floats: scaled(g, rows: rows, by: slope))]
      })
  }

  /// Relu as plain loops over the buffers (the closures of `unary` cost more than the operation
  /// on every element of a convolutional net's activations).
  static let relu = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      let values = try c.floats(0)
      let y = [Float](unsafeUninitializedCapacity: values.count) { out, count in
        values.withUnsafeBufferPointer { values in
          for i in 0..<values.count { out[i] = max(values[i], 0) }
        }
        count = values.count
      }
      return [Tensor(shape: x.shape, floats: y)]
    },
    stackedBackward: { c, outputs, gradients, _, rows in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
      let x = try c.floats(0)
      guard g.count == rows * x.count else {
        throw ONNXError.shapeMismatch("\(rows) gradient rows of \(x.count) hold \(g.count) floats")
      }
      let dx = [Float](unsafeUninitializedCapacity: g.count) { out, count in
        x.withUnsafeBufferPointer { x in
          g.withUnsafeBufferPointer { g in
            for r in 0..<rows {
              let base = r * x.count
              for i in 0..<x.count { out[base + i] = x[i] > 0 ? g[base + i] : 0 }
            }
          }
        }
        count = g.count
      }
      return [Tensor(shape: [rows] + outputs[0].shape, floats: dx)]
    })

  /// Erf eight floats at a time (`VectorExponential`): a GELU's, on every feed-forward
  /// activation of a transformer, where `erff` and `expf` per element cost more than the rest of
  /// the operator.
  static let erfOperator = OperatorDefinition(
    since: 9, differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      return [Tensor(shape: x.shape, floats: mapped(try c.floats(0), VectorExponential.erf))]
    },
    stackedBackward: { c, outputs, gradients, _, rows in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
      let x = try c.floats(0)
      guard g.count == rows * x.count else {
        throw ONNXError.shapeMismatch("\(rows) gradient rows of \(x.count) hold \(g.count) floats")
      }
      // 2/√π · e^(−x²), shared by every row.
      let slope = mapped(x) { 1.128_379_167_095_512_6 * VectorExponential.exp(-$0 * $0) }
      return [Tensor(shape: [rows] + outputs[0].shape, floats: scaled(g, rows: rows, by: slope))]
    })

  /// Each of the `rows` rows of `g` times `slope` element by element.
  private static func scaled(_ g: [Float], rows: Int, by slope: [Float]) -> [Float] {
    [Float](unsafeUninitializedCapacity: g.count) { out, count in
      for r in 0..<rows {
        let base = r * slope.count
        for i in 0..<slope.count { out[base + i] = g[base + i] * slope[i] }
      }
      count = g.count
    }
  }

  /// `lanes` applied to every element of `x`.
  private static func mapped(_ x: [Float], _ lanes: (VectorExponential.Lanes) -> VectorExponential.Lanes) -> [Float] {
    [Float](unsafeUninitializedCapacity: x.count) { out, count in
      x.withUnsafeBufferPointer { x in
        if let source = x.baseAddress, let target = out.baseAddress {
          VectorExponential.map(source, count: x.count, into: target, lanes)
        }
      }
      count = x.count
    }
  }

  static func gelu(_ x: Float, tanhApproximation: Bool) -> Float {
    if tanhApproximation {
      let inner = Float(0.7978845608028654) * (x + 0.044715 * x * x * x)
      return 0.5 * x * (1 + tanh(inner))
    }
    return 0.5 * x * (1 + erf(x / Float(2).squareRoot()))
  }

  static func geluDerivative(_ x: Float, tanhApproximation: Bool) -> Float {
    if tanhApproximation {
      let k = Float(0.7978845608028654)
      let t = tanh(k * (x + 0.044715 * x * x * x))
      return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    }
    let cdf = 0.5 * (1 + erf(x / Float(2).squareRoot()))
    let pdf = exp(-0.5 * x * x) / Float(2 * Double.pi).squareRoot()
    return cdf + x * pdf
  }

  static func isTanhGelu(_ c: OperatorContext) throws -> Bool {
    let mode = try c.string("approximate", default: "none")
    guard mode == "none" || mode == "tanh" else { throw ONNXError.unsupported("Gelu approximate='\(mode)'") }
    return mode == "tanh"
  }

  static let all: [String: OperatorDefinition] = [
    "Relu": relu,
    "LeakyRelu": unary(
      { c in
        let alpha = try c.float("alpha", default: 0.01)
        return { $0 >= 0 ? $0 : alpha * $0 }
      },
      derivative: { c in
        let alpha = try c.float("alpha", default: 0.01)
        return { x, _ in x > 0 ? 1 : alpha }
      }),
    "Elu": unary(
      { c in
        let alpha = try c.float("alpha", default: 1)
        return { $0 > 0 ? $0 : alpha * (exp($0) - 1) }
      },
      derivative: { c in
        let alpha = try c.float("alpha", default: 1)
        return { x, y in x > 0 ? 1 : y + alpha }
      }),
    "Sigmoid": unary({ _ in { 1 / (1 + exp(-$0)) } }, derivative: { _ in { _, y in y * (1 - y) } }),
    "Tanh": unary({ _ in { tanh($0) } }, derivative: { _ in { _, y in 1 - y * y } }),
    "Softplus": unary(
      { _ in { max($0, 0) + log1p(exp(-abs($0))) } }, derivative: { _ in { x, _ in 1 / (1 + exp(-x)) } }),
    "Erf": erfOperator,
    "Gelu": unary(
      since: 20,
      { c in
        let approximate = try isTanhGelu(c)
        return { gelu($0, tanhApproximation: approximate) }
      },
      derivative: { c in
        let approximate = try isTanhGelu(c)
        return { x, _ in geluDerivative(x, tanhApproximation: approximate) }
      }),
    "Sqrt": unary({ _ in { $0.squareRoot() } }, derivative: { _ in { _, y in 0.5 / y } }),
    "Exp": unary({ _ in { exp($0) } }, derivative: { _ in { _, y in y } }),
    "Log": unary({ _ in { log($0) } }, derivative: { _ in { x, _ in 1 / x } }),
    "Neg": unary({ _ in { -$0 } }, derivative: { _ in { _, _ in -1 } }, integer: { 0 &- $0 }),
    "Abs": unary(
      { _ in { abs($0) } }, derivative: { _ in { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) } },
      integer: { $0 == .min ? .min : abs($0) }),
    "Reciprocal": unary({ _ in { 1 / $0 } }, derivative: { _ in { _, y in -y * y } }),
    "Softsign": unary(
      { _ in { $0 / (1 + abs($0)) } }, derivative: { _ in { x, _ in 1 / ((1 + abs(x)) * (1 + abs(x))) } }),
    "Sin": unary(since: 7, { _ in { sin($0) } }, derivative: { _ in { x, _ in cos(x) } }),
    "Tan": unary(since: 7, { _ in { tan($0) } }, derivative: { _ in { _, y in 1 + y * y } }),
    "Asin": unary(since: 7, { _ in { asin($0) } }, derivative: { _ in { x, _ in 1 / (1 - x * x).squareRoot() } }),
    "Acos": unary(since: 7, { _ in { acos($0) } }, derivative: { _ in { x, _ in -1 / (1 - x * x).squareRoot() } }),
    "Atan": unary(since: 7, { _ in { atan($0) } }, derivative: { _ in { x, _ in 1 / (1 + x * x) } }),
    "Sinh": unary(since: 9, { _ in { sinh($0) } }, derivative: { _ in { x, _ in cosh(x) } }),
    "Cosh": unary(since: 9, { _ in { cosh($0) } }, derivative: { _ in { x, _ in sinh(x) } }),
    "Asinh": unary(since: 9, { _ in { asinh($0) } }, derivative: { _ in { x, _ in 1 / (x * x + 1).squareRoot() } }),
    "Acosh": unary(since: 9, { _ in { acosh($0) } }, derivative: { _ in { x, _ in 1 / (x * x - 1).squareRoot() } }),
    "Atanh": unary(since: 9, { _ in { atanh($0) } }, derivative: { _ in { x, _ in 1 / (1 - x * x) } }),
    "Cos": unary(since: 7, { _ in { cos($0) } }, derivative: { _ in { x, _ in -sin(x) } }),
    // Piecewise constant: zero derivative almost everywhere (as PyTorch's autograd).
    "Floor": unary({ _ in { $0.rounded(.down) } }, derivative: { _ in { _, _ in 0 } }),
    "Ceil": unary({ _ in { $0.rounded(.up) } }, derivative: { _ in { _, _ in 0 } }),
    "Sign": unary(
      since: 9, { _ in { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } }, derivative: { _ in { _, _ in 0 } },
      integer: { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }),
    "Selu": unary(
      { c in
        let (alpha, gamma) = (
          try c.float("alpha", default: 1.67326319217681884765625),
          try c.float("gamma", default: 1.05070102214813232421875)
        )
        return { $0 > 0 ? gamma * $0 : gamma * alpha * (exp($0) - 1) }
      },
      derivative: { c in
        let (alpha, gamma) = (
          try c.float("alpha", default: 1.67326319217681884765625),
          try c.float("gamma", default: 1.05070102214813232421875)
        )
        return { x, _ in x > 0 ? gamma : gamma * alpha * exp(x) }
      }),
    "Celu": unary(
      since: 12,
      { c in
        let alpha = try c.float("alpha", default: 1)
        return { max(0, $0) + min(0, alpha * (exp($0 / alpha) - 1)) }
      },
      derivative: { c in
        let alpha = try c.float("alpha", default: 1)
        return { x, _ in x > 0 ? 1 : exp(x / alpha) }
      }),
    "ThresholdedRelu": unary(
      since: 10,
      { c in
        let alpha = try c.float("alpha", default: 1)
        return { $0 > alpha ? $0 : 0 }
      },
      derivative: { c in
        let alpha = try c.float("alpha", default: 1)
        return { x, _ in x > alpha ? 1 : 0 }
      }),
    "HardSigmoid": unary(
      { c in
        let (alpha, beta) = (try c.float("alpha", default: 0.2), try c.float("beta", default: 0.5))
        return { max(0, min(1, alpha * $0 + beta)) }
      },
      derivative: { c in
        let (alpha, beta) = (try c.float("alpha", default: 0.2), try c.float("beta", default: 0.5))
        return { x, _ in alpha * x + beta > 0 && alpha * x + beta < 1 ? alpha : 0 }
      }),
    "Mish": unary(
      since: 18, { _ in { $0 * tanh(max($0, 0) + log1p(exp(-abs($0)))) } },
      derivative: { _ in
        { x, _ in
          let t = tanh(max(x, 0) + log1p(exp(-abs(x))))
          return t + x * (1 - t * t) / (1 + exp(-x))
        }
      }),
    "HardSwish": unary(
      since: 14, { _ in { $0 * max(0, min(1, $0 / 6 + 0.5)) } },
      derivative: { _ in { x, _ in x < -3 ? 0 : (x > 3 ? 1 : x / 3 + 0.5) } }),
  ]
}
