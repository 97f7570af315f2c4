/// ReduceMean and ReduceSum over `axes` (an attribute before opset 13/18, an input after).
enum ReductionOperators {
  /// The reduced shape (with kept dims) and, for each input element, its output element.
  static func plan(_ c: OperatorContext, _ shape: [Int]) throws -> (outputShape: [Int], map: [Int], groupSize: Int) {
    let keepDims = try c.int("keepdims", default: 1) != 0
    var axes = try c.intsFromAttributeOrInput("axes", input: 1) ?? []
    if axes.isEmpty {
      if try c.int("noop_with_empty_axes", default: 0) != 0 {
        return (shape, Array(0..<shape.reduce(1, *)), 1)
      }
      axes = Array(0..<shape.count)
    }
    let resolved = try Set(axes.map { a throws(ONNXError) in try c.axis(a, rank: shape.count) })
    let kept = shape.indices.map { resolved.contains($0) ? 1 : shape[$0] }
    let keptStrides = IndexMap.strides(kept)
    let parts = shape.indices.map { d in (0..<shape[d]).map { resolved.contains(d) ? 0 : $0 * keptStrides[d] } }
    let map = IndexMap.combine(parts)
    let output = keepDims ? kept : shape.indices.filter { !resolved.contains($0) }.map { shape[$0] }
    let groupSize = resolved.reduce(1) { $0 * shape[$1] }
    return (output, map, groupSize)
  }

  static func reduction(mean: Bool, since: Int = 1) -> OperatorDefinition {
    OperatorDefinition(
      since: since, differentiableInputs: [0],
      forward: { c in
        let x = try c.input(0)
        let (shape, map, size) = try plan(c, x.shape)
        let count = shape.reduce(1, *)
        if case .int64(let values) = x.elements, !mean {
          var sums = [Int64](repeating: 0, count: count)
          for i in 0..<map.count { sums[map[i]] &+= values[i] }
          return [Tensor(shape: shape, ints: sums)]
        }
        var sums = IndexMap.scatterAdd(try c.floats(0), map, count: count)
        if mean { sums = sums.map { $0 / Float(max(size, 1)) } }
        return [Tensor(shape: shape, floats: sums)]
      },
      backward: { c, _, gradients, _ in
        guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
        let x = try c.input(0)
        let (_, map, size) = try plan(c, x.shape)
        let scale: Float = mean ? 1 / Float(max(size, 1)) : 1
        return [Tensor(shape: x.shape, floats: map.map { g[$0] * scale })]
      })
  }

  static let all: [String: OperatorDefinition] = ["ReduceMean": reduction(mean: true), "ReduceSum": reduction(mean: false)]
}
