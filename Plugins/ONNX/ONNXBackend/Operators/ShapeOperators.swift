/// Operators that change only the shape or the element type of a tensor, or make constants:
/// Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Shape, Size, Cast, Constant,
/// ConstantOfShape.
///
/// Where the values flow through unchanged the gradient is reshaped back.
enum ShapeOperators {
  /// An operator whose output has the input's elements under a new shape.
  static func view(since: Int = 1, _ shape: @escaping @Sendable (OperatorContext, Tensor) throws -> [Int])
    -> OperatorDefinition
  {
    OperatorDefinition(
      since: since, differentiableInputs: [0],
      forward: { c in
        let x = try c.input(0)
        let newShape = try shape(c, x)
        guard try IndexMap.checkedCount(newShape) == x.count else {
          throw ONNXError.shapeMismatch("cannot view \(x.shape) as \(newShape)")
        }
        return [x.reshaped(newShape)]
      },
      stackedBackward: { c, _, gradients, _, rows in
        guard let g = gradients[0] else { return [nil] }
        return [g.reshaped([rows] + (try c.input(0).shape))]
      })
  }

  static func reshapeTarget(_ c: OperatorContext, _ x: Tensor) throws -> [Int] {
    let requested = try c.input(1).ints("shape").map { Int($0) }
    let allowZero = try c.int("allowzero", default: 0) != 0
    var shape = requested.enumerated().map { i, d in d == 0 && !allowZero ? (i < x.rank ? x.shape[i] : -2) : d }
    guard !shape.contains(-2), shape.allSatisfy({ $0 >= -1 }), shape.filter({ $0 == -1 }).count <= 1 else {
      throw ONNXError.shapeMismatch("shape \(requested) is invalid for input \(x.shape)")
    }
    if let unknown = shape.firstIndex(of: -1) {
      let known = try IndexMap.checkedCount(shape.filter { $0 != -1 })
      guard known > 0, x.count % known == 0 else {
        throw ONNXError.shapeMismatch("cannot reshape \(x.shape) to \(requested)")
      }
      shape[unknown] = x.count / known
    }
    return shape
  }

  static func flattenTarget(_ c: OperatorContext, _ x: Tensor) throws -> [Int] {
    let raw = try c.int("axis", default: 1)
    let axis = raw < 0 ? raw + x.rank : raw
    guard axis >= 0, axis <= x.rank else {
      throw ONNXError.invalidModel("axis \(raw) is out of range for rank \(x.rank)")
    }
    return [x.shape[..<axis].reduce(1, *), x.shape[axis...].reduce(1, *)]
  }

  static func squeezeTarget(_ c: OperatorContext, _ x: Tensor) throws -> [Int] {
    guard let axes = try c.intsFromAttributeOrInput("axes", input: 1) else { return x.shape.filter { $0 != 1 } }
    let resolved = try Set(axes.map { a throws(ONNXError) in try c.axis(a, rank: x.rank) })
    for a in resolved where x.shape[a] != 1 { throw ONNXError.shapeMismatch("cannot squeeze axis \(a) of \(x.shape)") }
    return x.shape.indices.filter { !resolved.contains($0) }.map { x.shape[$0] }
  }

  static func unsqueezeTarget(_ c: OperatorContext, _ x: Tensor) throws -> [Int] {
    guard let axes = try c.intsFromAttributeOrInput("axes", input: 1) else {
      throw ONNXError.invalidModel("axes are required")
    }
    let rank = x.rank + axes.count
    let resolved = try Set(axes.map { a throws(ONNXError) in try c.axis(a, rank: rank) })
    guard resolved.count == axes.count else { throw ONNXError.invalidModel("axes \(axes) repeat") }
    var source = x.shape.makeIterator()
    return (0..<rank).map { resolved.contains($0) ? 1 : (source.next() ?? 1) }
  }

  /// Dropout in inference: the identity, and an all-true mask when asked for.
  static let dropout = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      if let training = c.optionalInput(2), try training.bools("training_mode").contains(true) {
        throw ONNXError.unsupported("Dropout with training_mode = true")
      }
      let x = try c.input(0)
      return [x, Tensor(shape: x.shape, bools: [Bool](repeating: true, count: x.count))]
    },
    backward: { _, _, gradients, _ in [gradients[0]] })

  static let shape = OperatorDefinition(forward: { c in
    let x = try c.input(0)
    func bound(_ value: Int) -> Int { min(max(value < 0 ? value + x.rank : value, 0), x.rank) }
    let start = bound(try c.int("start", default: 0))
    let end = bound(try c.int("end", default: x.rank))
    let dims = start < end ? x.shape[start..<end].map { Int64($0) } : []
    return [Tensor(shape: [dims.count], ints: dims)]
  })

  static let size = OperatorDefinition(forward: { c in [Tensor(shape: [], ints: [Int64(try c.input(0).count)])] })

  /// Cast between float, the integer types (held as int64) and bool.
  ///
  /// float64 is held as float32 (see `TensorProtoDecoder.narrowed`), so a Cast to DOUBLE is one to
  /// FLOAT, and a float32 → float64 → float32 chain is the identity. Float to float passes the
  /// gradient through.
  static let cast = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      let requested = Int32(try c.int("to", default: 0))
      let to = requested == 11 ? 1 : requested
      switch (to, x.elements) {
      case (1, .float): return [x]
      case (1, .int64(let v)): return [Tensor(shape: x.shape, floats: v.map { Float($0) })]
      case (1, .bool(let v)): return [Tensor(shape: x.shape, floats: v.map { $0 ? 1 : 0 })]
      case (9, _):
        if case .float(let v) = x.elements { return [Tensor(shape: x.shape, bools: v.map { $0 != 0 })] }
        return [Tensor(shape: x.shape, bools: try x.bools("input"))]
      case (2...7, .float(let v)):
        guard v.allSatisfy({ $0.isFinite && abs($0) < 9.2e18 }) else {
          throw ONNXError.invalidArgument("cannot cast non-finite floats to integers")
        }
        return [Tensor(shape: x.shape, ints: v.map { Int64($0) })]
      case (2...7, _): return [Tensor(shape: x.shape, ints: try x.ints("input"))]
      default: throw ONNXError.unsupported("Cast to \(TensorProtoDecoder.typeName(requested))")
      }
    },
    backward: { c, _, gradients, _ in
      guard try c.input(0).isFloat, let g = gradients[0], g.isFloat else { return [nil] }
      return [g]
    })

  /// CastLike(x, target): Cast to the element type of `target`.
  static let castLike = OperatorDefinition(
    since: 15, differentiableInputs: [0],
    forward: { c in
      let code: Int64
      switch try c.input(1).elements {
      case .float: code = 1
      case .int64: code = 7
      case .bool: code = 9
      }
      var attributes = c.node.attributes
      attributes["to"] = .int(code)
      var node = c.node
      node.attributes = attributes
      return try cast.forward(OperatorContext(node: node, opset: c.opset, inputs: [try c.input(0)]))
    },
    backward: { c, _, gradients, _ in
      guard try c.input(0).isFloat, try c.input(1).isFloat, let g = gradients[0] else { return [nil, nil] }
      return [g, nil]
    })

  /// Range(start, limit, delta): float or int64 scalars.
  static let range = OperatorDefinition(
    since: 11,
    forward: { c in
      let (start, limit, delta) = (try c.input(0), try c.input(1), try c.input(2))
      guard start.count == 1, limit.count == 1, delta.count == 1 else {
        throw ONNXError.shapeMismatch("Range takes scalars")
      }
      if case .float(let s) = start.elements {
        let (l, d) = (try limit.floats("limit")[0], try delta.floats("delta")[0])
        guard d != 0 else { throw ONNXError.invalidArgument("Range delta 0") }
        let n = try rangeCount((Double(l) - Double(s[0])) / Double(d))
        return [Tensor(shape: [n], floats: (0..<n).map { s[0] + Float($0) * d })]
      }
      let (s, l, d) = (try start.ints("start")[0], try limit.ints("limit")[0], try delta.ints("delta")[0])
      guard d != 0 else { throw ONNXError.invalidArgument("Range delta 0") }
      let n = try rangeCount((Double(l) - Double(s)) / Double(d))
      return [Tensor(shape: [n], ints: (0..<n).map { s &+ Int64($0) &* d })]
    })

  /// max(⌈steps⌉, 0) as a checked element count.
  static func rangeCount(_ steps: Double) throws -> Int {
    guard steps.isFinite, steps < Double(IndexMap.maximumElementCount) else {
      throw ONNXError.shapeMismatch("Range would have \(steps) elements")
    }
    return max(Int(steps.rounded(.up)), 0)
  }

  static let not = OperatorDefinition(forward: { c in
    let x = try c.input(0)
    return [Tensor(shape: x.shape, bools: try x.bools("input").map { !$0 })]
  })

  static let constant = OperatorDefinition(forward: { c in
    for (key, value) in c.node.attributes {
      switch (key, value) {
      case ("value", .tensor(let t)): return [t]
      case ("value_float", .float(let v)): return [Tensor(shape: [], floats: [v])]
      case ("value_floats", .floats(let v)): return [Tensor(shape: [v.count], floats: v)]
      case ("value_int", .int(let v)): return [Tensor(shape: [], ints: [v])]
      case ("value_ints", .ints(let v)): return [Tensor(shape: [v.count], ints: v)]
      default: continue
      }
    }
    throw ONNXError.unsupported("Constant without a dense value (sparse or string constants are not supported)")
  })

  static let constantOfShape = OperatorDefinition(
    since: 9,
    forward: { c in
      let dims = try c.input(0).ints("shape").map { Int($0) }
      let count = try IndexMap.checkedCount(dims)
      guard case .tensor(let value)? = c.node.attributes["value"] else { return [Tensor.zeros(dims)] }
      guard value.count == 1 else { throw ONNXError.invalidModel("value must hold one element") }
      return [value.gathering([Int](repeating: 0, count: count), shape: dims)]
    })

  static let all: [String: OperatorDefinition] = [
    "Reshape": view(reshapeTarget), "Flatten": view(flattenTarget), "Squeeze": view(squeezeTarget),
    "Unsqueeze": view(unsqueezeTarget), "Identity": view { _, x in x.shape }, "Dropout": dropout, "Shape": shape,
    "Size": size, "Cast": cast, "CastLike": castLike, "Constant": constant, "ConstantOfShape": constantOfShape,
    "Range": range, "Not": not,
  ]
}
