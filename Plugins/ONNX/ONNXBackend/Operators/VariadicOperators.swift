/// Sum, Mean, Max and Min of any number of inputs with numpy broadcasting.
///
/// Max and Min send the gradient to the first input holding the extreme value.
enum VariadicOperators {
  enum Kind { case sum, mean, max, min }

  static func plan(_ c: OperatorContext) throws -> ([Tensor], [Int], [[Int]]) {
    let tensors = try c.inputs.indices.map { i throws(ONNXError) in try c.input(i) }
    guard !tensors.isEmpty else { throw ONNXError.invalidModel("needs at least one input") }
    var shape = tensors[0].shape
    for t in tensors.dropFirst() { shape = try IndexMap.broadcastShape(shape, t.shape) }
    return (tensors, shape, tensors.map { IndexMap.broadcast(from: $0.shape, to: shape) })
  }

  /// For max/min: which input supplies each output element.
  static func winners(_ values: [[Float]], _ maps: [[Int]], count: Int, max isMax: Bool) -> [Int] {
    (0..<count).map { i in
      var best = 0
      for k in 1..<values.count {
        let candidate = values[k][maps[k][i]]
        let current = values[best][maps[best][i]]
        if isMax ? candidate > current : candidate < current { best = k }
      }
      return best
    }
  }

  static func definition(_ kind: Kind) -> OperatorDefinition {
    OperatorDefinition(
      differentiatesEveryInput: true,
      forward: { c in
        let (tensors, shape, maps) = try plan(c)
        let count = shape.reduce(1, *)
        if kind == .max || kind == .min,
          tensors.allSatisfy({ if case .int64 = $0.elements { return true } else { return false } })
        {
          let values = try tensors.map { t throws(ONNXError) in try t.ints("input") }
          return [
            Tensor(
              shape: shape,
              ints: (0..<count).map { i in
                let items = values.indices.map { values[$0][maps[$0][i]] }
                return (kind == .max ? items.max() : items.min()) ?? 0
              })
          ]
        }
        let values = try tensors.map { t throws(ONNXError) in try t.floats("input") }
        switch kind {
        case .sum, .mean:
          var out = [Float](repeating: 0, count: count)
          for k in values.indices {
            for i in 0..<count { out[i] += values[k][maps[k][i]] }
          }
          if kind == .mean { out = out.map { $0 / Float(values.count) } }
          return [Tensor(shape: shape, floats: out)]
        case .max, .min:
          let winner = winners(values, maps, count: count, max: kind == .max)
          return [Tensor(shape: shape, floats: (0..<count).map { values[winner[$0]][maps[winner[$0]][$0]] })]
        }
      },
      backward: { c, _, gradients, needs in
        guard let g = try gradients[0]?.floats("gradient") else { return needs.map { _ in nil } }
        let (tensors, _, maps) = try plan(c)
        let values = try tensors.map { t throws(ONNXError) in try t.floats("input") }
        let winner = kind == .max || kind == .min ? winners(values, maps, count: g.count, max: kind == .max) : []
        return tensors.indices.map { k in
          guard needs[k] else { return nil }
          var d = [Float](repeating: 0, count: tensors[k].count)
          for i in 0..<g.count {
            switch kind {
            case .sum: d[maps[k][i]] += g[i]
            case .mean: d[maps[k][i]] += g[i] / Float(tensors.count)
            case .max, .min: if winner[i] == k { d[maps[k][i]] += g[i] }
            }
          }
          return Tensor(shape: tensors[k].shape, floats: d)
        }
      })
  }

  static let all: [String: OperatorDefinition] = [
    "Sum": definition(.sum), "Mean": definition(.mean), "Max": definition(.max), "Min": definition(.min),
  ]
}
