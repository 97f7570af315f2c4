import Foundation

/// Reductions over `axes` (an attribute before opset 13/18, an input after) and ArgMax/ArgMin.
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

  enum Kind { case sum, mean, max, min, sumSquare, l1, l2, logSumExp }

  static func reduce(_ kind: Kind, _ x: [Float], _ map: [Int], count: Int, groupSize: Int) -> [Float] {
    switch kind {
    case .sum: return IndexMap.scatterAdd(x, map, count: count)
    case .mean: return IndexMap.scatterAdd(x, map, count: count).map { $0 / Float(max(groupSize, 1)) }
    case .sumSquare: return IndexMap.scatterAdd(x.map { $0 * $0 }, map, count: count)
    case .l1: return IndexMap.scatterAdd(x.map { abs($0) }, map, count: count)
    case .l2: return IndexMap.scatterAdd(x.map { $0 * $0 }, map, count: count).map { $0.squareRoot() }
    case .max, .min:
      var out = [Float](repeating: kind == .max ? -.infinity : .infinity, count: count)
      for i in 0..<x.count { out[map[i]] = kind == .max ? max(out[map[i]], x[i]) : min(out[map[i]], x[i]) }
      return out
    case .logSumExp:
      let top = reduce(.max, x, map, count: count, groupSize: groupSize)
      var sums = [Float](repeating: 0, count: count)
      for i in 0..<x.count where top[map[i]].isFinite { sums[map[i]] += exp(x[i] - top[map[i]]) }
      return (0..<count).map { top[$0].isFinite ? top[$0] + log(sums[$0]) : top[$0] }
    }
  }

  static func reduction(_ kind: Kind) -> OperatorDefinition {
    OperatorDefinition(
      differentiableInputs: [0],
      forward: { c in
        let x = try c.input(0)
        let (shape, map, size) = try plan(c, x.shape)
        let count = shape.reduce(1, *)
        if case .int64(let values) = x.elements, kind == .sum || kind == .max || kind == .min {
          var out = [Int64](repeating: kind == .max ? .min : (kind == .min ? .max : 0), count: count)
          for i in 0..<map.count {
            switch kind {
            case .max: out[map[i]] = max(out[map[i]], values[i])
            case .min: out[map[i]] = min(out[map[i]], values[i])
            default: out[map[i]] &+= values[i]
            }
          }
          return [Tensor(shape: shape, ints: out)]
        }
        return [Tensor(shape: shape, floats: reduce(kind, try c.floats(0), map, count: count, groupSize: size))]
      },
      backward: { c, outputs, gradients, _ in
        guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
        let x = try c.floats(0)
        let shape = try c.input(0).shape
        let (_, map, size) = try plan(c, shape)
        let y = try outputs[0].floats("output")
        var dx = [Float](repeating: 0, count: x.count)
        var taken = [Bool](repeating: false, count: y.count)
        for i in 0..<x.count {
          let o = map[i]
          switch kind {
          case .sum: dx[i] = g[o]
          case .mean: dx[i] = g[o] / Float(max(size, 1))
          case .sumSquare: dx[i] = 2 * x[i] * g[o]
          case .l1: dx[i] = (x[i] > 0 ? 1 : (x[i] < 0 ? -1 : 0)) * g[o]
          case .l2: dx[i] = y[o] > 0 ? x[i] / y[o] * g[o] : 0
          case .logSumExp: dx[i] = exp(x[i] - y[o]) * g[o]
          case .max, .min:
            if !taken[o], x[i] == y[o] {
              dx[i] = g[o]
              taken[o] = true
            }
          }
        }
        return [Tensor(shape: shape, floats: dx)]
      })
  }

  /// ArgMax / ArgMin along one axis (int64 indices; first or last extreme).
  static func argExtreme(max isMax: Bool) -> OperatorDefinition {
    OperatorDefinition(forward: { c in
      let x = try c.input(0)
      let axis = try c.axis(c.int("axis", default: 0), rank: x.rank)
      let keepDims = try c.int("keepdims", default: 1) != 0
      let last = try c.int("select_last_index", default: 0) != 0
      let values: [Float]
      switch x.elements {
      case .float(let v): values = v
      case .int64(let v): values = v.map { Float($0) }
      case .bool: throw ONNXError.unsupported("bool input")
      }
      let n = x.shape[axis]
      guard n > 0 else { throw ONNXError.shapeMismatch("cannot take the extreme of an empty axis of \(x.shape)") }
      let inner = x.shape[(axis + 1)...].reduce(1, *)
      let outer = x.shape[..<axis].reduce(1, *)
      var out: [Int64] = []
      for o in 0..<outer {
        for j in 0..<inner {
          var best = 0
          for k in 1..<n {
            let a = values[(o * n + k) * inner + j]
            let b = values[(o * n + best) * inner + j]
            if isMax ? (a > b || (last && a == b)) : (a < b || (last && a == b)) { best = k }
          }
          out.append(Int64(best))
        }
      }
      var shape = x.shape
      if keepDims { shape[axis] = 1 } else { shape.remove(at: axis) }
      return [Tensor(shape: shape, ints: out)]
    })
  }

  static let all: [String: OperatorDefinition] = [
    "ReduceMean": reduction(.mean), "ReduceSum": reduction(.sum), "ReduceMax": reduction(.max),
    "ReduceMin": reduction(.min),
    "ReduceSumSquare": reduction(.sumSquare), "ReduceL1": reduction(.l1), "ReduceL2": reduction(.l2),
    "ReduceLogSumExp": reduction(.logSumExp), "ArgMax": argExtreme(max: true), "ArgMin": argExtreme(max: false),
  ]
}
