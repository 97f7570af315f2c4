/// CumSum and TopK: operators that run along one axis in order.
enum OrderingOperators {
  /// (outer, length, inner) of `shape` around `axis`.
  static func layout(_ shape: [Int], axis: Int) -> (Int, Int, Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
  }

  /// Running sums along `axis`, optionally exclusive and/or from the end.
  static func cumulativeSum(_ x: [Float], shape: [Int], axis: Int, exclusive: Bool, reverse: Bool) -> [Float] {
    let (outer, length, inner) = layout(shape, axis: axis)
    var y = [Float](repeating: 0, count: x.count)
    for o in 0..<outer {
      for j in 0..<inner {
        var sum: Float = 0
        for step in 0..<length {
          let k = reverse ? length - 1 - step : step
          let i = (o * length + k) * inner + j
          if exclusive {
            y[i] = sum
            sum += x[i]
          } else {
            sum += x[i]
            y[i] = sum
          }
        }
      }
    }
    return y
  }

  static func cumSumAxis(_ c: OperatorContext, rank: Int) throws -> Int {
    let axis = try c.input(1)
    guard axis.count == 1 else { throw ONNXError.shapeMismatch("axis must be a scalar, got \(axis.shape)") }
    return try c.axis(Int(clamping: axis.ints("axis")[0]), rank: rank)
  }

  static let cumSum = OperatorDefinition(
    since: 11, differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      let axis = try cumSumAxis(c, rank: x.rank)
      let (exclusive, reverse) = (try c.int("exclusive", default: 0) != 0, try c.int("reverse", default: 0) != 0)
      if case .int64(let values) = x.elements {
        let sums = cumulativeSum(
          values.map { Float($0) }, shape: x.shape, axis: axis, exclusive: exclusive, reverse: reverse)
        guard sums.allSatisfy({ abs($0) < 9.2e18 }) else { throw ONNXError.invalidArgument("CumSum overflows int64") }
        return [Tensor(shape: x.shape, ints: sums.map { Int64($0) })]
      }
      return [
        Tensor(
          shape: x.shape,
          floats: cumulativeSum(try c.floats(0), shape: x.shape, axis: axis, exclusive: exclusive, reverse: reverse))
      ]
    },
    backward: { c, _, gradients, _ in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
      let x = try c.input(0)
      let axis = try cumSumAxis(c, rank: x.rank)
      let (exclusive, reverse) = (try c.int("exclusive", default: 0) != 0, try c.int("reverse", default: 0) != 0)
      // The adjoint of a running sum is the running sum taken the other way.
      return [
        Tensor(
          shape: x.shape, floats: cumulativeSum(g, shape: x.shape, axis: axis, exclusive: exclusive, reverse: !reverse))
      ]
    })

  /// For each TopK output element, the input element it takes.
  static func topK(_ c: OperatorContext) throws -> (shape: [Int], map: [Int]) {
    let x = try c.input(0)
    guard x.rank >= 1 else { throw ONNXError.shapeMismatch("TopK of a scalar") }
    let axis = try c.axis(c.int("axis", default: -1), rank: x.rank)
    let k: Int
    if c.opset < 10 {
      k = try c.int("k", default: 0)
    } else {
      let given = try c.input(1)
      guard given.count == 1 else { throw ONNXError.shapeMismatch("K must hold one value, got \(given.shape)") }
      k = Int(clamping: try given.ints("K")[0])
    }
    guard k >= 0, k <= x.shape[axis] else {
      throw ONNXError.invalidArgument("K = \(k) for an axis of \(x.shape[axis])")
    }
    let largest = try c.int("largest", default: 1) != 0
    let values: [Float]
    switch x.elements {
    case .float(let v): values = v
    case .int64(let v): values = v.map { Float($0) }
    case .bool: throw ONNXError.unsupported("TopK of bool")
    }
    let (outer, length, inner) = layout(x.shape, axis: axis)
    var shape = x.shape
    shape[axis] = k
    var map = [Int](repeating: 0, count: outer * k * inner)
    for o in 0..<outer {
      for j in 0..<inner {
        // Stable: equal values keep the lower index first, as ONNX specifies.
        let order = (0..<length).sorted { a, b in
          let (va, vb) = (values[(o * length + a) * inner + j], values[(o * length + b) * inner + j])
          return va == vb ? a < b : (largest ? va > vb : va < vb)
        }
        for (rank, source) in order.prefix(k).enumerated() {
          map[(o * k + rank) * inner + j] = (o * length + source) * inner + j
        }
      }
    }
    return (shape, map)
  }

  static let topKOperator = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      let (shape, map) = try topK(c)
      let axis = try c.axis(c.int("axis", default: -1), rank: x.rank)
      let (_, length, inner) = layout(x.shape, axis: axis)
      let positions = map.map { Int64(($0 / inner) % length) }
      return [x.gathering(map, shape: shape), Tensor(shape: shape, ints: positions)]
    },
    backward: { c, _, gradients, _ in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil] }
      let x = try c.input(0)
      return [Tensor(shape: x.shape, floats: IndexMap.scatterAdd(g, try topK(c).map, count: x.count)), nil]
    })

  static let all: [String: OperatorDefinition] = ["CumSum": cumSum, "TopK": topKOperator]
}
