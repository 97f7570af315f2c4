/// Operators that move elements without arithmetic: Transpose, Slice, Gather, Expand, Pad, Tile,
/// Concat and Split.
///
/// Each builds an `IndexMap`; the gradient scatter-adds through it.
enum IndexOperators {
  /// A map from each output element to an element of input 0 (-1 = fill value).
  struct Plan {
    var shape: [Int]
    var map: [Int]
    var fill: Float = 0
  }

  static func mapped(since: Int = 1, _ plan: @escaping @Sendable (OperatorContext, Tensor) throws -> Plan)
    -> OperatorDefinition
  {
    OperatorDefinition(
      since: since, differentiableInputs: [0], sinkInputs: [0],
      forward: { c in
        let x = try c.input(0)
        let p = try plan(c, x)
        return [x.gathering(p.map, shape: p.shape, fill: p.fill)]
      },
      stackedBackward: { c, _, gradients, _, rows in
        guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
        let x = try c.input(0)
        let p = try plan(c, x)
        // An embedding table's gradient goes straight into the caller's rows: the table can be
        // most of the model's parameters, and a sample touches only its tokens' rows.
        if let slot = c.sink(0) {
          try IndexMap.scatterAdd(g, p.map, rows: rows, into: slot.sink, accumulate: slot.accumulate)
          return [nil]
        }
        return [
          Tensor(shape: [rows] + x.shape, floats: try IndexMap.scatterAdd(g, p.map, rows: rows, count: x.count))
        ]
      })
  }

  static func transpose(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let perm = try c.ints("perm") ?? Array((0..<x.rank).reversed())
    guard perm.sorted() == Array(0..<x.rank) else {
      throw ONNXError.invalidModel("perm \(perm) is not a permutation of 0..<\(x.rank)")
    }
    let strides = IndexMap.strides(x.shape)
    let shape = perm.map { x.shape[$0] }
    return Plan(shape: shape, map: IndexMap.combine(perm.map { p in (0..<x.shape[p]).map { $0 * strides[p] } }))
  }

  static func slice(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let old = c.opset < 10
    guard let starts = try old ? c.ints("starts") : c.input(1).ints("starts").map({ Int(clamping: $0) }),
      let ends = try old ? c.ints("ends") : c.input(2).ints("ends").map({ Int(clamping: $0) })
    else { throw ONNXError.invalidModel("starts and ends are required") }
    let axes = try (old ? c.ints("axes") : c.optionalInput(3)?.ints("axes").map { Int($0) }) ?? Array(0..<starts.count)
    let steps =
      try (old ? nil : c.optionalInput(4)?.ints("steps").map { Int(clamping: $0) })
      ?? [Int](repeating: 1, count: starts.count)
    guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
      throw ONNXError.invalidModel("starts, ends, axes and steps differ in length")
    }
    let strides = IndexMap.strides(x.shape)
    var parts = x.shape.indices.map { d in (0..<x.shape[d]).map { $0 * strides[d] } }
    var shape = x.shape
    for (i, rawAxis) in axes.enumerated() {
      let axis = try c.axis(rawAxis, rank: x.rank)
      let n = x.shape[axis]
      let step = steps[i]
      guard step != 0 else { throw ONNXError.invalidModel("slice step 0") }
      func clamp(_ v: Int, _ low: Int, _ high: Int) -> Int { min(max(v < 0 ? v &+ n : v, low), high) }
      let start = step > 0 ? clamp(starts[i], 0, n) : clamp(starts[i], -1, n - 1)
      let end = step > 0 ? clamp(ends[i], 0, n) : clamp(ends[i], -1, n - 1)
      let indices = Array(stride(from: start, to: end, by: step))
      parts[axis] = indices.map { $0 * strides[axis] }
      shape[axis] = indices.count
    }
    return Plan(shape: shape, map: IndexMap.combine(parts))
  }

  static func gather(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let axis = try c.axis(c.int("axis", default: 0), rank: x.rank)
    let indicesTensor = try c.input(1)
    let n = x.shape[axis]
    let indices = try indicesTensor.ints("indices").map { i throws(ONNXError) -> Int in
      let resolved = i < 0 ? Int(i) + n : Int(i)
      guard resolved >= 0, resolved < n else {
        throw .invalidArgument("index \(i) is out of range for axis of size \(n)")
      }
      return resolved
    }
    let outer = x.shape[..<axis].reduce(1, *)
    let inner = x.shape[(axis + 1)...].reduce(1, *)
    var map: [Int] = []
    map.reserveCapacity(outer * indices.count * inner)
    for o in 0..<outer {
      for i in indices {
        for j in 0..<inner { map.append((o * n + i) * inner + j) }
      }
    }
    return Plan(shape: Array(x.shape[..<axis]) + indicesTensor.shape + Array(x.shape[(axis + 1)...]), map: map)
  }

  /// GatherElements: output[i][j][k] = x[index[i][j][k]][j][k] for axis 0, and so on.
  static func gatherElements(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let axis = try c.axis(c.int("axis", default: 0), rank: x.rank)
    let indexTensor = try c.input(1)
    guard indexTensor.rank == x.rank else {
      throw ONNXError.shapeMismatch("indices \(indexTensor.shape) and data \(x.shape) differ in rank")
    }
    let indices = try indexTensor.ints("indices")
    let strides = IndexMap.strides(x.shape)
    let outStrides = IndexMap.strides(indexTensor.shape)
    let n = x.shape[axis]
    var map = [Int](repeating: 0, count: indices.count)
    for i in 0..<indices.count {
      var source = 0
      for d in 0..<x.rank {
        let coordinate = (i / outStrides[d]) % max(indexTensor.shape[d], 1)
        if d == axis {
          let k = indices[i] < 0 ? Int(indices[i]) + n : Int(indices[i])
          guard k >= 0, k < n else {
            throw ONNXError.invalidArgument("index \(indices[i]) is out of range for axis of size \(n)")
          }
          source += k * strides[d]
        } else {
          guard coordinate < x.shape[d] else {
            throw ONNXError.shapeMismatch("indices \(indexTensor.shape) exceed data \(x.shape)")
          }
          source += coordinate * strides[d]
        }
      }
      map[i] = source
    }
    return Plan(shape: indexTensor.shape, map: map)
  }

  /// Trilu: keeps the upper (or lower) triangle of the last two dimensions from diagonal k.
  static func trilu(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    guard x.rank >= 2 else { throw ONNXError.shapeMismatch("Trilu input \(x.shape) must have rank ≥ 2") }
    let k =
      try c.optionalInput(1).map { t throws(ONNXError) -> Int in
        guard t.count == 1 else { throw .shapeMismatch("k must be a scalar, got \(t.shape)") }
        return Int(clamping: try t.ints("k")[0])
      } ?? 0
    let upper = try c.int("upper", default: 1) != 0
    let (rows, columns) = (x.shape[x.rank - 2], x.shape[x.rank - 1])
    let map = (0..<x.count).map { i -> Int in
      let (row, column) = ((i / max(columns, 1)) % max(rows, 1), i % max(columns, 1))
      let offset = column - row
      return (upper ? offset >= k : offset <= k) ? i : -1
    }
    return Plan(shape: x.shape, map: map)
  }

  /// GatherND: slices of x addressed by the last axis of `indices`, with `batch_dims`.
  static func gatherND(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let indexTensor = try c.input(1)
    let indices = try indexTensor.ints("indices")
    let batchDims = try c.int("batch_dims", default: 0)
    guard let depth = indexTensor.shape.last, indexTensor.rank >= 1, batchDims >= 0, batchDims < indexTensor.rank,
      batchDims + depth <= x.rank, Array(indexTensor.shape.prefix(batchDims)) == Array(x.shape.prefix(batchDims))
    else { throw ONNXError.shapeMismatch("GatherND of \(x.shape) with indices \(indexTensor.shape)") }
    let batches = x.shape.prefix(batchDims).reduce(1, *)
    let block = x.shape.dropFirst(batchDims).reduce(1, *)
    let inner = x.shape.dropFirst(batchDims + depth).reduce(1, *)
    let strides = IndexMap.strides(Array(x.shape.dropFirst(batchDims)))
    let tuples = indices.count / max(depth, 1) / max(batches, 1)
    var map: [Int] = []
    for batch in 0..<batches {
      for tuple in 0..<(depth == 0 ? indexTensor.shape.dropLast().dropFirst(batchDims).reduce(1, *) : tuples) {
        var offset = batch * block
        for j in 0..<depth {
          let dimension = x.shape[batchDims + j]
          let raw = Int(indices[(batch * tuples + tuple) * depth + j])
          let index = raw < 0 ? raw + dimension : raw
          guard index >= 0, index < dimension else {
            throw ONNXError.invalidArgument("index \(raw) is out of range for dimension \(dimension)")
          }
          offset += index * strides[j]
        }
        map += (0..<inner).map { offset + $0 }
      }
    }
    return Plan(shape: Array(indexTensor.shape.dropLast()) + Array(x.shape.dropFirst(batchDims + depth)), map: map)
  }

  /// A reshape of x to `view`, a transpose by `perm`, and a reshape to `shape`.
  static func permutedView(_ view: [Int], _ perm: [Int], shape: [Int]) -> Plan {
    let strides = IndexMap.strides(view)
    return Plan(shape: shape, map: IndexMap.combine(perm.map { p in (0..<view[p]).map { $0 * strides[p] } }))
  }

  /// DepthToSpace (PixelShuffle): [N, C, H, W] → [N, C/b², H·b, W·b], modes DCR and CRD.
  static func depthToSpace(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let b = try c.int("blocksize", default: 0)
    guard x.rank == 4, b > 0, x.shape[1] % (b * b) == 0 else {
      throw ONNXError.shapeMismatch("DepthToSpace of \(x.shape) with blocksize \(b)")
    }
    let (n, channels, h, w) = (x.shape[0], x.shape[1] / (b * b), x.shape[2], x.shape[3])
    let shape = [n, channels, h * b, w * b]
    switch try c.string("mode", default: "DCR") {
    case "DCR": return permutedView([n, b, b, channels, h, w], [0, 3, 4, 1, 5, 2], shape: shape)
    case "CRD": return permutedView([n, channels, b, b, h, w], [0, 1, 4, 2, 5, 3], shape: shape)
    case let mode: throw ONNXError.unsupported("DepthToSpace mode '\(mode)'")
    }
  }

  /// SpaceToDepth: [N, C, H, W] → [N, C·b², H/b, W/b].
  static func spaceToDepth(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let b = try c.int("blocksize", default: 0)
    guard x.rank == 4, b > 0, x.shape[2] % b == 0, x.shape[3] % b == 0 else {
      throw ONNXError.shapeMismatch("SpaceToDepth of \(x.shape) with blocksize \(b)")
    }
    let (n, channels, h, w) = (x.shape[0], x.shape[1], x.shape[2] / b, x.shape[3] / b)
    return permutedView([n, channels, h, b, w, b], [0, 3, 5, 1, 2, 4], shape: [n, channels * b * b, h, w])
  }

  static func expand(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let requested = try c.input(1).ints("shape").map { Int($0) }
    let shape = try IndexMap.broadcastShape(x.shape, requested)
    return Plan(shape: shape, map: IndexMap.broadcast(from: x.shape, to: shape))
  }

  static func tile(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let repeats = try c.input(1).ints("repeats").map { Int($0) }
    guard repeats.count == x.rank, repeats.allSatisfy({ $0 >= 0 && $0 <= IndexMap.maximumElementCount }) else {
      throw ONNXError.invalidModel("repeats \(repeats) for rank \(x.rank)")
    }
    let shape = x.shape.indices.map { x.shape[$0] * repeats[$0] }
    _ = try IndexMap.checkedCount(shape)
    let strides = IndexMap.strides(x.shape)
    let parts = x.shape.indices.map { d in (0..<shape[d]).map { ($0 % max(x.shape[d], 1)) * strides[d] } }
    return Plan(shape: shape, map: IndexMap.combine(parts))
  }

  static func pad(_ c: OperatorContext, _ x: Tensor) throws -> Plan {
    let mode = try c.string("mode", default: "constant")
    guard let pads = try c.ints("pads") ?? c.optionalInput(1)?.ints("pads").map({ Int($0) }) else {
      throw ONNXError.invalidModel("pads are required")
    }
    var fill = try c.float("value", default: 0)
    if let value = c.optionalInput(2), value.count > 0 {
      switch value.elements {
      case .float(let v): fill = v[0]
      case .int64(let v): fill = Float(v[0])
      case .bool(let v): fill = v[0] ? 1 : 0
      }
    }
    let axes =
      try c.optionalInput(3)?.ints("axes").map { a throws(ONNXError) in try c.axis(Int(a), rank: x.rank) }
      ?? Array(0..<x.rank)
    guard pads.count == 2 * axes.count else { throw ONNXError.invalidModel("pads \(pads) for \(axes.count) axes") }
    guard pads.allSatisfy({ abs($0) <= IndexMap.maximumElementCount }) else {
      throw ONNXError.shapeMismatch("pads \(pads) are too large")
    }
    var begin = [Int](repeating: 0, count: x.rank)
    var end = [Int](repeating: 0, count: x.rank)
    for (i, a) in axes.enumerated() {
      begin[a] = pads[i]
      end[a] = pads[i + axes.count]
    }
    let padded = x.shape.indices.map { x.shape[$0] + begin[$0] + end[$0] }
    guard padded.allSatisfy({ $0 >= 0 }) else {
      throw ONNXError.shapeMismatch("pads \(pads) remove more than \(x.shape) holds")
    }
    _ = try IndexMap.checkedCount(padded)
    let strides = IndexMap.strides(x.shape)
    var shape = x.shape
    var parts: [[Int]] = []
    for d in 0..<x.rank {
      let n = x.shape[d]
      shape[d] = n + begin[d] + end[d]
      parts.append(
        try (0..<shape[d]).map { o throws(ONNXError) -> Int in
          var i = o - begin[d]
          if i >= 0, i < n { return i * strides[d] }
          switch mode {
          case "constant": return -1
          case "edge":
            guard n > 0 else { throw .shapeMismatch("edge padding of an empty dimension") }
            i = min(max(i, 0), n - 1)
          case "reflect":
            guard n > 1 else { throw .shapeMismatch("reflect padding needs dimensions of size ≥ 2") }
            let period = 2 * (n - 1)
            i = ((i % period) + period) % period
            if i >= n { i = period - i }
          default: throw .unsupported("Pad mode '\(mode)'")
          }
          return i * strides[d]
        })
    }
    return Plan(shape: shape, map: IndexMap.combine(parts), fill: fill)
  }

  /// For input k of a concatenation, the output position of each of its elements.
  static func concatPlacement(_ shapes: [[Int]], axis: Int, outputShape: [Int]) -> [[Int]] {
    let strides = IndexMap.strides(outputShape)
    var offset = 0
    return shapes.map { shape in
      let parts = shape.indices.map { d in (0..<shape[d]).map { ($0 + (d == axis ? offset : 0)) * strides[d] } }
      offset += shape[axis]
      return IndexMap.combine(parts)
    }
  }

  static func concatShapes(_ c: OperatorContext) throws -> ([[Int]], Int, [Int]) {
    let tensors = try c.inputs.indices.map { i throws(ONNXError) in try c.input(i) }
    guard let first = tensors.first else { throw ONNXError.invalidModel("Concat needs inputs") }
    let axis = try c.axis(c.int("axis", default: 0), rank: first.rank)
    var shape = first.shape
    shape[axis] = 0
    for t in tensors {
      guard t.rank == first.rank, t.shape.indices.allSatisfy({ $0 == axis || t.shape[$0] == first.shape[$0] }) else {
        throw ONNXError.shapeMismatch("cannot concatenate \(tensors.map(\.shape)) on axis \(axis)")
      }
      shape[axis] += t.shape[axis]
    }
    return (tensors.map(\.shape), axis, shape)
  }

  static let concat = OperatorDefinition(
    differentiatesEveryInput: true,
    forward: { c in
      let (shapes, axis, shape) = try concatShapes(c)
      let placements = concatPlacement(shapes, axis: axis, outputShape: shape)
      let count = shape.reduce(1, *)
      let tensors = try c.inputs.indices.map { i throws(ONNXError) in try c.input(i) }
      switch tensors[0].elements {
      case .float:
        var out = [Float](repeating: 0, count: count)
        for (t, place) in zip(tensors, placements) {
          let v = try t.floats("inputs")
          for i in 0..<place.count { out[place[i]] = v[i] }
        }
        return [Tensor(shape: shape, floats: out)]
      case .int64, .bool:
        var out = [Int64](repeating: 0, count: count)
        for (t, place) in zip(tensors, placements) {
          let v = try t.ints("inputs")
          for i in 0..<place.count { out[place[i]] = v[i] }
        }
        if case .bool = tensors[0].elements { return [Tensor(shape: shape, bools: out.map { $0 != 0 })] }
        return [Tensor(shape: shape, ints: out)]
      }
    },
    backward: { c, _, gradients, needs in
      guard let g = try gradients[0]?.floats("gradient") else { return needs.map { _ in nil } }
      let (shapes, axis, shape) = try concatShapes(c)
      let placements = concatPlacement(shapes, axis: axis, outputShape: shape)
      return zip(shapes, placements).enumerated().map { i, pair in
        needs[i] ? Tensor(shape: pair.0, floats: IndexMap.gather(g, pair.1)) : nil
      }
    })

  /// The sizes of Split's outputs along its axis.
  static func splitSizes(_ c: OperatorContext, _ x: Tensor, axis: Int) throws -> [Int] {
    let n = x.shape[axis]
    if let sizes = try c.intsFromAttributeOrInput("split", input: 1) {
      guard sizes.allSatisfy({ $0 >= 0 && $0 <= n }), sizes.reduce(0, +) == n else {
        throw ONNXError.shapeMismatch("split \(sizes) does not add up to \(n)")
      }
      return sizes
    }
    let parts = try c.int("num_outputs", default: c.node.outputs.count)
    guard parts > 0, parts <= max(n, 1) else { throw ONNXError.invalidModel("Split into \(parts) outputs") }
    let chunk = (n + parts - 1) / parts
    return (0..<parts).map { max(0, min(chunk, n - $0 * chunk)) }
  }

  static func splitMaps(_ c: OperatorContext, _ x: Tensor) throws -> [([Int], [Int])] {
    let axis = try c.axis(c.int("axis", default: 0), rank: x.rank)
    let strides = IndexMap.strides(x.shape)
    var offset = 0
    return try splitSizes(c, x, axis: axis).map { size in
      var shape = x.shape
      shape[axis] = size
      let parts = shape.indices.map { d in (0..<shape[d]).map { ($0 + (d == axis ? offset : 0)) * strides[d] } }
      offset += size
      return (shape, IndexMap.combine(parts))
    }
  }

  static let split = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      return try splitMaps(c, x).map { shape, map in x.gathering(map, shape: shape) }
    },
    backward: { c, _, gradients, _ in
      let x = try c.input(0)
      var dx = [Float](repeating: 0, count: x.count)
      var any = false
      for (k, (_, map)) in try splitMaps(c, x).enumerated() {
        guard k < gradients.count, let g = try gradients[k]?.floats("gradient") else { continue }
        any = true
        for i in 0..<map.count { dx[map[i]] += g[i] }
      }
      return [any ? Tensor(shape: x.shape, floats: dx) : nil]
    })

  /// Transpose as `mapped`, but a float matrix goes through one `somatcopy`, forwards and per
  /// gradient row, instead of a gather or scatter through an index map: a bias-free Linear's
  /// weight reaches its MatMul through a Transpose (BERT-base: 85 M weights transposed at open),
  /// whose reverse pass then carries every sample's and class's rows.
  static let transposition: OperatorDefinition = {
    var definition = mapped(transpose)
    guard let general = definition.stackedBackward else { return definition }
    let generalForward = definition.forward
    definition.forward = { c in
      let x = try c.input(0)
      guard x.rank == 2, try c.ints("perm") ?? [1, 0] == [1, 0], case .float(let v) = x.elements else {
        return try generalForward(c)
      }
      let (n0, n1) = (x.shape[0], x.shape[1])
      let y = [Float](unsafeUninitializedCapacity: v.count) { y, count in
        v.withUnsafeBufferPointer { v in
          if let source = v.baseAddress, let target = y.baseAddress {
            MatrixMultiply.transpose(source, rows: n0, columns: n1, into: target)
          }
        }
        count = v.count
      }
      return [Tensor(shape: [n1, n0], floats: y)]
    }
    definition.stackedBackward = { c, outputs, gradients, needs, rows in
      let x = try c.input(0)
      guard x.rank == 2, try c.ints("perm") ?? [1, 0] == [1, 0], !(c.sink(0)?.accumulate ?? false),
        let gradient = gradients[0]
      else { return try general(c, outputs, gradients, needs, rows) }
      let g = try gradient.floats("gradient")
      guard g.count == rows * x.count else {
        throw ONNXError.shapeMismatch("\(rows) gradient rows of \(x.count) hold \(g.count) floats")
      }
      let (n0, n1) = (x.shape[0], x.shape[1])
      var dx = [Float](repeating: 0, count: c.sink(0) == nil ? rows * x.count : 0)
      g.withUnsafeBufferPointer { g in
        dx.withUnsafeMutableBufferPointer { dx in
          guard let g = g.baseAddress else { return }
          for r in 0..<rows {
            guard let target = c.sink(0)?.sink.row(r) ?? dx.baseAddress.map({ $0 + r * x.count }) else { return }
            MatrixMultiply.transpose(g + r * x.count, rows: n1, columns: n0, into: target)
          }
        }
      }
      return [c.sink(0) == nil ? Tensor(shape: [rows] + x.shape, floats: dx) : nil]
    }
    return definition
  }()

  static let all: [String: OperatorDefinition] = [
    "Transpose": transposition, "Slice": mapped(slice), "Gather": mapped(gather),
    "GatherElements": mapped(since: 11, gatherElements),
    "GatherND": mapped(since: 11, gatherND), "Expand": mapped(since: 8, expand),
    "Tile": mapped(tile), "DepthToSpace": mapped(depthToSpace), "SpaceToDepth": mapped(spaceToDepth),
    "Trilu": mapped(since: 14, trilu), "Pad": mapped(pad), "Concat": concat, "Split": split,
  ]
}
