/// MaxPool, AveragePool (any number of spatial dimensions), GlobalAveragePool and GlobalMaxPool.
enum PoolingOperators {
  /// Window geometry of a pooling node on input X.
  static func window(_ c: OperatorContext) throws -> (SpatialWindow, [Int]) {
    let x = try c.input(0)
    let window = try SpatialWindow(
      context: c, inputShape: x.shape, kernelShape: c.ints("kernel_shape"),
      ceilMode: c.int("ceil_mode", default: 0) != 0)
    return (window, x.shape)
  }

  /// For each output element, the input index it takes the maximum from (-1 if the window
  /// holds only padding).
  static func argmax(_ c: OperatorContext) throws -> (SpatialWindow, [Int], [Int]) {
    let (w, shape) = try window(c)
    guard try c.int("storage_order", default: 0) == 0 else { throw ONNXError.unsupported("MaxPool storage_order=1") }
    let x = try c.floats(0)
    let map = w.patchMap()
    let planes = shape[0] * shape[1]
    let inPlane = w.inputPlane
    let outPlane = w.outputPlane
    let kk = w.kernelCount
    var result = [Int](repeating: -1, count: planes * outPlane)
    for p in 0..<planes {
      for j in 0..<outPlane {
        var best = -Float.infinity
        var index = -1
        for k in 0..<kk {
          let source = map[k * outPlane + j]
          if source >= 0, index < 0 || x[p * inPlane + source] > best {
            best = x[p * inPlane + source]
            index = p * inPlane + source
          }
        }
        result[p * outPlane + j] = index
      }
    }
    return (w, shape, result)
  }

  static let maxPool = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      let (w, shape, indices) = try argmax(c)
      let x = try c.floats(0)
      let outShape = w.outputShape(batch: shape[0], channels: shape[1])
      return [
        Tensor(shape: outShape, floats: indices.map { $0 >= 0 ? x[$0] : -Float.infinity }),
        Tensor(shape: outShape, ints: indices.map { Int64($0) }),
      ]
    },
    stackedBackward: { c, _, gradients, _, rows in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
      // The argmax depends on X only: found once, every row scatters through it.
      let (_, shape, indices) = try argmax(c)
      let inCount = shape.reduce(1, *)
      guard g.count == rows * indices.count else {
        throw ONNXError.shapeMismatch("\(rows) gradient rows of \(indices.count) hold \(g.count) floats")
      }
      var dx = [Float](repeating: 0, count: rows * inCount)
      for r in 0..<rows {
        for (j, source) in indices.enumerated() where source >= 0 {
          dx[r * inCount + source] += g[r * indices.count + j]
        }
      }
      return [Tensor(shape: [rows] + shape, floats: dx)]
    })

  /// Per output position, the divisor of the average (within the input, or within input
  /// plus explicit pads when count_include_pad = 1).
  static func divisors(_ c: OperatorContext, _ w: SpatialWindow) throws -> [Float] {
    w.windowCounts(includePad: try c.int("count_include_pad", default: 0) != 0)
  }

  static let averagePool = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      let (w, shape) = try window(c)
      let x = try c.floats(0)
      let map = w.patchMap()
      let divisor = try divisors(c, w)
      let planes = shape[0] * shape[1]
      let inPlane = w.inputPlane
      let outPlane = w.outputPlane
      var y = [Float](repeating: 0, count: planes * outPlane)
      for p in 0..<planes {
        for k in 0..<w.kernelCount {
          for j in 0..<outPlane where map[k * outPlane + j] >= 0 {
            y[p * outPlane + j] += x[p * inPlane + map[k * outPlane + j]]
          }
        }
        for j in 0..<outPlane { y[p * outPlane + j] /= divisor[j] }
      }
      return [Tensor(shape: w.outputShape(batch: shape[0], channels: shape[1]), floats: y)]
    },
    backward: { c, _, gradients, _ in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
      let (w, shape) = try window(c)
      let map = w.patchMap()
      let divisor = try divisors(c, w)
      let inPlane = w.inputPlane
      let outPlane = w.outputPlane
      var dx = [Float](repeating: 0, count: shape.reduce(1, *))
      for p in 0..<(shape[0] * shape[1]) {
        for k in 0..<w.kernelCount {
          for j in 0..<outPlane where map[k * outPlane + j] >= 0 {
            dx[p * inPlane + map[k * outPlane + j]] += g[p * outPlane + j] / divisor[j]
          }
        }
      }
      return [Tensor(shape: shape, floats: dx)]
    })

  /// Mean or max over all spatial positions of each [n, c] plane; output [N, C, 1, ...].
  static func global(max isMax: Bool) -> OperatorDefinition {
    OperatorDefinition(
      differentiableInputs: [0],
      forward: { c in
        let x = try c.input(0)
        guard x.rank >= 3 else { throw ONNXError.shapeMismatch("input \(x.shape) must have rank ≥ 3") }
        let values = try c.floats(0)
        let planes = x.shape[0] * x.shape[1]
        let size = x.count / max(planes, 1)
        let y = (0..<planes).map { p -> Float in
          let plane = values[(p * size)..<((p + 1) * size)]
          return isMax ? (plane.max() ?? 0) : plane.reduce(0, +) / Float(size)
        }
        return [Tensor(shape: [x.shape[0], x.shape[1]] + [Int](repeating: 1, count: x.rank - 2), floats: y)]
      },
      backward: { c, outputs, gradients, _ in
        guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
        let x = try c.input(0)
        let values = try c.floats(0)
        let y = try outputs[0].floats("output")
        let planes = x.shape[0] * x.shape[1]
        let size = x.count / max(planes, 1)
        var dx = [Float](repeating: 0, count: x.count)
        for p in 0..<planes {
          if isMax {
            if let i = (0..<size).first(where: { values[p * size + $0] == y[p] }) { dx[p * size + i] = g[p] }
          } else {
            for i in 0..<size { dx[p * size + i] = g[p] / Float(size) }
          }
        }
        return [Tensor(shape: x.shape, floats: dx)]
      })
  }

  static let all: [String: OperatorDefinition] = [
    "MaxPool": maxPool, "AveragePool": averagePool, "GlobalAveragePool": global(max: false),
    "GlobalMaxPool": global(max: true),
  ]
}
