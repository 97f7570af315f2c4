import Foundation

/// Softmax and LogSoftmax.
///
/// From opset 13 they act along one axis (default -1); before, on the input flattened to 2-D at
/// `axis` (default 1).
enum SoftmaxOperators {
  /// (outer, length, inner): the softmax runs over `length` elements spaced `inner` apart.
  static func layout(_ c: OperatorContext, _ shape: [Int]) throws -> (Int, Int, Int) {
    let modern = c.opset >= 13
    let axis = try c.axis(c.int("axis", default: modern ? -1 : 1), rank: shape.count)
    let outer = shape[..<axis].reduce(1, *)
    if modern {
      return (outer, shape.isEmpty ? 1 : shape[axis], shape.isEmpty ? 1 : shape[(axis + 1)...].reduce(1, *))
    }
    return (outer, shape[axis...].reduce(1, *), 1)
  }

  static func softmax(_ x: [Float], _ layout: (Int, Int, Int), log isLog: Bool) -> [Float] {
    let (outer, length, inner) = layout
    if inner == 1 && !isLog { return contiguousSoftmax(x, rows: outer, length: length) }
    var y = [Float](repeating: 0, count: x.count)
    for o in 0..<outer {
      for i in 0..<inner {
        let base = o * length * inner + i
        var top = -Float.infinity
        for k in 0..<length { top = max(top, x[base + k * inner]) }
        var sum: Float = 0
        for k in 0..<length { sum += exp(x[base + k * inner] - top) }
        let logSum = log(sum)
        for k in 0..<length {
          let shifted = x[base + k * inner] - top
          y[base + k * inner] = isLog ? shifted - logSum : exp(shifted) / sum
        }
      }
    }
    return y
  }

  /// Softmax over rows of `length` contiguous floats (the last axis: attention's scores), each
  /// exponential computed once, eight at a time (`VectorExponential`).
  private static func contiguousSoftmax(_ x: [Float], rows: Int, length: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: x.count) { y, count in
      x.withUnsafeBufferPointer { x in
        guard let x = x.baseAddress, let y = y.baseAddress else { return }
        for row in 0..<rows {
          let (source, target) = (x + row * length, y + row * length)
          var top = -Float.infinity
          for k in 0..<length { top = max(top, source[k]) }
          VectorExponential.map(source, count: length, into: target) { VectorExponential.exp($0 - top) }
          var sum: Float = 0
          for k in 0..<length { sum += target[k] }
          for k in 0..<length { target[k] /= sum }
        }
      }
      count = x.count
    }
  }

  static func definition(log isLog: Bool) -> OperatorDefinition {
    OperatorDefinition(
      differentiableInputs: [0],
      forward: { c in
        let x = try c.input(0)
        return [Tensor(shape: x.shape, floats: softmax(try c.floats(0), try layout(c, x.shape), log: isLog))]
      },
      backward: { c, outputs, gradients, _ in
        guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
        let y = try outputs[0].floats("output")
        let (outer, length, inner) = try layout(c, outputs[0].shape)
        var dx = [Float](repeating: 0, count: y.count)
        for o in 0..<outer {
          for i in 0..<inner {
            let base = o * length * inner + i
            var dot: Float = 0
            for k in 0..<length { dot += isLog ? g[base + k * inner] : g[base + k * inner] * y[base + k * inner] }
            for k in 0..<length {
              let j = base + k * inner
              dx[j] = isLog ? g[j] - exp(y[j]) * dot : y[j] * (g[j] - dot)
            }
          }
        }
        return [Tensor(shape: outputs[0].shape, floats: dx)]
      })
  }

  static let all: [String: OperatorDefinition] = [
    "Softmax": definition(log: false), "LogSoftmax": definition(log: true),
  ]
}
