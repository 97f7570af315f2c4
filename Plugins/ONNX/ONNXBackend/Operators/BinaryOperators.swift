import Foundation

/// Element-wise operators on two (or three, for Where) inputs with numpy broadcasting.
///
/// Float arithmetic is differentiable; int64 arithmetic serves shape computations.
enum BinaryOperators {
  /// Float rule: value and partial derivatives with respect to a and b.
  struct FloatRule: Sendable {
    var value: @Sendable (Float, Float) -> Float
    var da: @Sendable (Float, Float, Float) -> Float  // (a, b, y)
    var db: @Sendable (Float, Float, Float) -> Float
    /// ∂y/∂a and ∂y/∂b when they are constants (Add, Sub): the reverse pass skips evaluating them.
    var constantSlopes: (da: Float, db: Float)? = nil
    /// `value` over a run of elements (`Run`); the operators a transformer runs most have one
    /// compiled for them, whose loop vectorises, the others call `value` per element.
    var run: Run
    /// Per-row gradients that need no slopes: ∂y/∂a·g = f(g, b) (Mul: g·b, Div: g/b) and
    /// ∂y/∂b·g = f(g, a) (Mul: g·a), as runs over the gradient row and the other operand.
    var aGradient: Run? = nil
    var bGradient: Run? = nil

    init(
      value: @escaping @Sendable (Float, Float) -> Float, da: @escaping @Sendable (Float, Float, Float) -> Float,
      db: @escaping @Sendable (Float, Float, Float) -> Float, constantSlopes: (da: Float, db: Float)? = nil,
      run: Run? = nil, aGradient: Run? = nil, bGradient: Run? = nil
    ) {
      (self.value, self.da, self.db, self.constantSlopes) = (value, da, db, constantSlopes)
      (self.aGradient, self.bGradient) = (aGradient, bGradient)
      self.run =
        run ?? { x, xStep, y, yStep, out, count in
          for i in 0..<count { out[i] = value(x[i * xStep], y[i * yStep]) }
        }
    }
  }

  /// out[i] = f(x[i · xStep], y[i · yStep]) for i < count; steps are 1 (a run of the operand) or
  /// 0 (one element repeated).
  typealias Run =
    @Sendable (
      _ x: UnsafePointer<Float>, _ xStep: Int, _ y: UnsafePointer<Float>, _ yStep: Int,
      _ out: UnsafeMutablePointer<Float>,
      _ count: Int
    ) -> Void

  /// out[i] = f(x at i, y at i) for the `count` elements of the result: `run` over the longest
  /// stretches the alignments allow, one element at a time through the maps otherwise.
  static func apply(
    _ run: Run, _ x: UnsafePointer<Float>, _ xAlign: Alignment, _ y: UnsafePointer<Float>, _ yAlign: Alignment,
    into out: UnsafeMutablePointer<Float>, count: Int
  ) {
    switch (xAlign, yAlign) {
    case (.whole, .whole): run(x, 1, y, 1, out, count)
    case (.whole, .block(1)): run(x, 1, y, 0, out, count)
    case (.block(1), .whole): run(x, 0, y, 1, out, count)
    case (.whole, .block(let size)):
      for base in stride(from: 0, to: count, by: size) { run(x + base, 1, y, 1, out + base, size) }
    case (.block(let size), .whole):
      for base in stride(from: 0, to: count, by: size) { run(x, 1, y + base, 1, out + base, size) }
    default:
      let (ia, ib) = (xAlign.map(count: count), yAlign.map(count: count))
      for i in 0..<count { run(x + ia[i], 0, y + ib[i], 0, out + i, 1) }
    }
  }

  /// A float function the compiler specialises `run(of:)` for.
  protocol FloatFunction: Sendable { static func apply(_ a: Float, _ b: Float) -> Float }
  enum Sum: FloatFunction { static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
  enum Difference: FloatFunction { static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
  enum Product: FloatFunction { static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
  enum Quotient: FloatFunction { static func apply(_ a: Float, _ b: Float) -> Float { a / b } }

  static func run<F: FloatFunction>(of _: F.Type) -> Run {
    { x, xStep, y, yStep, out, count in
      switch (xStep, yStep) {
      case (1, 1): for i in 0..<count { out[i] = F.apply(x[i], y[i]) }
      case (1, 0):
        let b = y[0]
        for i in 0..<count { out[i] = F.apply(x[i], b) }
      case (0, 1):
        let a = x[0]
        for i in 0..<count { out[i] = F.apply(a, y[i]) }
      default: for i in 0..<count { out[i] = F.apply(x[i * xStep], y[i * yStep]) }
      }
    }
  }

  /// How an operand's elements line up with the `count` elements of the result.
  enum Alignment {
    /// Element i: the operand has the result's shape.
    case whole
    /// Element i mod size: the operand repeats as a trailing block (a bias over tokens, a scalar).
    case block(Int)
    /// Element map[i] (`IndexMap.broadcast`).
    case mapped([Int])

    init(_ operand: [Int], to shape: [Int]) {
      let (size, count) = (operand.reduce(1, *), shape.reduce(1, *))
      if size == count {
        self = .whole
      } else if size < count, BinaryOperators.repeatsAsTrailingBlock(operand, in: shape) {
        self = .block(size)
      } else {
        self = .mapped(IndexMap.broadcast(from: operand, to: shape))
      }
    }

    /// The broadcast map, whatever the alignment.
    func map(count: Int) -> [Int] {
      switch self {
      case .whole: return Array(0..<count)
      case .block(let size): return (0..<count).map { $0 % size }
      case .mapped(let map): return map
      }
    }
  }

  /// The shape `b` broadcasts with against `a`.
  ///
  /// From opset 7 that is numpy broadcasting of its own shape; opset 6 models say `broadcast = 1` with an optional `axis` where `b`
  /// lines up with `a`, and PRelu's per-channel slope [C] lines up with axis 1.
  static func operandShape(_ c: OperatorContext, _ a: Tensor, _ b: Tensor) throws -> [Int] {
    guard c.opset < 7 else { return b.shape }
    if c.node.opType == "PRelu" {
      guard b.rank == 1, a.rank >= 2, b.count == a.shape[1], b.count != 1 else { return b.shape }
      return [b.count] + [Int](repeating: 1, count: a.rank - 2)
    }
    guard try c.int("broadcast", default: 0) != 0 else { return b.shape }
    let axis = try c.int("axis", default: a.rank - b.rank)
    let resolved = axis < 0 ? axis + a.rank : axis
    guard resolved >= 0, resolved + b.rank <= a.rank else {
      throw ONNXError.shapeMismatch("B \(b.shape) does not fit A \(a.shape) at axis \(axis)")
    }
    return b.shape + [Int](repeating: 1, count: a.rank - resolved - b.rank)
  }

  /// Whether `operand`, broadcast to `shape`, is its elements repeated as one contiguous block:
  /// its dimensions equal `shape`'s trailing ones after leading 1s (numpy's alignment from the
  /// right), so element i of the result reads element i mod count of the operand.
  static func repeatsAsTrailingBlock(_ operand: [Int], in shape: [Int]) -> Bool {
    let dims = Array(operand.drop { $0 == 1 })
    return dims.count <= shape.count && Array(shape.suffix(dims.count)) == dims
  }

  /// Pow (opset 12+) takes an integer exponent for a float base: it is used as float.
  static func exponentAsFloat(_ c: OperatorContext, _ a: Tensor, _ b: Tensor) throws -> Tensor {
    guard c.node.opType == "Pow", a.isFloat, case .int64(let values) = b.elements else { return b }
    return Tensor(shape: b.shape, floats: values.map { Float($0) })
  }

  static func arithmetic(_ rule: FloatRule, integer: (@Sendable (Int64, Int64) throws -> Int64)?) -> OperatorDefinition
  {
    OperatorDefinition(
      differentiableInputs: [0, 1],
      forward: { c in
        let a = try c.input(0)
        let b = try exponentAsFloat(c, a, try c.input(1))
        let bShape = try operandShape(c, a, b)
        let shape = try IndexMap.broadcastShape(a.shape, bShape)
        let count = shape.reduce(1, *)
        switch (a.elements, b.elements) {
        case (.float(let x), .float(let y)):
          let (xAlign, yAlign) = (Alignment(a.shape, to: shape), Alignment(bShape, to: shape))
          let out = [Float](unsafeUninitializedCapacity: count) { out, written in
            x.withUnsafeBufferPointer { x in
              y.withUnsafeBufferPointer { y in
                guard let x = x.baseAddress, let y = y.baseAddress, let out = out.baseAddress else { return }
                apply(rule.run, x, xAlign, y, yAlign, into: out, count: count)
              }
            }
            written = count
          }
          return [Tensor(shape: shape, floats: out)]
        case (.int64(let x), .int64(let y)):
          guard let integer else { throw ONNXError.unsupported("int64 inputs") }
          let ia = IndexMap.broadcast(from: a.shape, to: shape)
          let ib = IndexMap.broadcast(from: bShape, to: shape)
          var out = [Int64](repeating: 0, count: ia.count)
          for i in 0..<ia.count { out[i] = try integer(x[ia[i]], y[ib[i]]) }
          return [Tensor(shape: shape, ints: out)]
        default:
          throw ONNXError.unsupported(
            "inputs of types \(a.typeName) and \(b.typeName) (both float or both int64 are supported)")
        }
      },
      stackedBackward: { c, outputs, gradients, needs, rows in
        try reverse(rule, c, outputs, gradients, needs, weights: [false, false], rows: rows, samples: 1) ?? [nil, nil]
      },
      batchedWeightsBackward: { c, outputs, gradients, needs, weights, rows, samples in
        try reverse(rule, c, outputs, gradients, needs, weights: weights, rows: rows, samples: samples)
      })
  }

  /// The reverse pass of `rule` for `rows` stacked gradients; the operands flagged in `weights`
  /// get their gradients per sample ([samples · rows] + shape) when they repeat as a trailing
  /// block within each of the `samples` (a bias), else the result is nil.
  static func reverse(
    _ rule: FloatRule, _ c: OperatorContext, _ outputs: [Tensor], _ gradients: [Tensor?], _ needs: [Bool],
    weights: [Bool], rows: Int, samples: Int
  ) throws -> [Tensor?]? {
    guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil] }
    let a = try c.input(0)
    let b = try exponentAsFloat(c, a, try c.input(1))
    let x = try a.floats("input 0")
    let y = try b.floats("input 1")
    let out = try outputs[0].floats("output")
    let shape = outputs[0].shape
    let count = out.count
    guard g.count == rows * count else {
      throw ONNXError.shapeMismatch("\(rows) gradient rows of \(count) hold \(g.count) floats")
    }
    let xAlign = Alignment(a.shape, to: shape)
    let yAlign = Alignment(try operandShape(c, a, b), to: shape)
    // The partial derivatives depend on a, b and y only: evaluated once, shared by every row.
    func gradient(
      of operand: [Float], shape operandShape: [Int], alignment: Alignment, constant: Float?,
      _ partial: (Float, Float, Float) -> Float, direct: Run?, other: [Float], _ otherAlignment: Alignment,
      perSample: Bool
    ) -> Tensor? {
      let size = operand.count
      // Per sample, the result splits into `parts` spans, each a whole number of blocks.
      let parts = perSample ? samples : 1
      if perSample {
        guard case .block(let block) = alignment, count % samples == 0, (count / samples) % block == 0 else {
          return nil
        }
      }
      if case .whole = alignment, let direct {  // f(g, other operand) row by row: no slopes
        let d = [Float](unsafeUninitializedCapacity: rows * size) { d, written in
          g.withUnsafeBufferPointer { g in
            other.withUnsafeBufferPointer { other in
              guard let d = d.baseAddress, let g = g.baseAddress, let other = other.baseAddress else { return }
              for r in 0..<rows {
                apply(direct, g + r * count, .whole, other, otherAlignment, into: d + r * size, count: count)
              }
            }
          }
          written = rows * size
        }
        return Tensor(shape: [rows] + operandShape, floats: d)
      }
      var slope = [Float](repeating: 0, count: constant == nil ? count : 0)
      var d = [Float](repeating: 0, count: parts * rows * size)
      x.withUnsafeBufferPointer { x in
        y.withUnsafeBufferPointer { y in
          out.withUnsafeBufferPointer { out in
            slope.withUnsafeMutableBufferPointer { slope in
              guard !slope.isEmpty else { return }
              switch (xAlign, yAlign) {
              case (.whole, .whole): for i in 0..<count { slope[i] = partial(x[i], y[i], out[i]) }
              case (.whole, .block(let block)):
                for base in stride(from: 0, to: count, by: block) {
                  for j in 0..<block { slope[base + j] = partial(x[base + j], y[j], out[base + j]) }
                }
              case (.block(let block), .whole):
                for base in stride(from: 0, to: count, by: block) {
                  for j in 0..<block { slope[base + j] = partial(x[j], y[base + j], out[base + j]) }
                }
              default:
                let (ia, ib) = (xAlign.map(count: count), yAlign.map(count: count))
                for i in 0..<count { slope[i] = partial(x[ia[i]], y[ib[i]], out[i]) }
              }
            }
          }
        }
      }
      let span = count / parts
      g.withUnsafeBufferPointer { g in
        slope.withUnsafeBufferPointer { slope in
          d.withUnsafeMutableBufferPointer { d in
            guard let g = g.baseAddress, let d = d.baseAddress else { return }
            for r in 0..<rows {
              for part in 0..<parts {
                let first = part * span
                let (source, target) = (g + r * count + first, d + (part * rows + r) * size)
                switch (alignment, constant) {
                case (.whole, 1?): target.update(from: source, count: count)
                case (.whole, let k?): for i in 0..<count { target[i] = k * source[i] }
                case (.whole, nil): for i in 0..<count { target[i] = source[i] * slope[i] }
                case (.block(let block), let k?):
                  for base in stride(from: 0, to: span, by: block) {
                    for j in 0..<block { target[j] += k * source[base + j] }
                  }
                case (.block(let block), nil):
                  for base in stride(from: 0, to: span, by: block) {
                    for j in 0..<block { target[j] += source[base + j] * slope[first + base + j] }
                  }
                case (.mapped(let map), let k?): for i in 0..<count { target[map[i]] += k * source[i] }
                case (.mapped(let map), nil): for i in 0..<count { target[map[i]] += source[i] * slope[i] }
                }
              }
            }
          }
        }
      }
      return Tensor(shape: [parts * rows] + operandShape, floats: d)
    }
    let operands = [
      (x, a.shape, xAlign, rule.constantSlopes?.da, rule.da, rule.aGradient, y, yAlign),
      (y, b.shape, yAlign, rule.constantSlopes?.db, rule.db, rule.bGradient, x, xAlign),
    ]
    var result: [Tensor?] = [nil, nil]
    for (slot, o) in operands.enumerated() where needs[slot] {
      guard
        let d = gradient(
          of: o.0, shape: o.1, alignment: o.2, constant: o.3, o.4, direct: o.5, other: o.6, o.7,
          perSample: samples > 1 && weights[slot])
      else { return nil }
      result[slot] = d
    }
    return result
  }

  /// Comparison or logic: bool result, not differentiable.
  static func predicate(
    _ float: @escaping @Sendable (Float, Float) -> Bool, _ int: @escaping @Sendable (Int64, Int64) -> Bool
  ) -> OperatorDefinition {
    OperatorDefinition(forward: { c in
      let a = try c.input(0)
      let b = try c.input(1)
      let shape = try IndexMap.broadcastShape(a.shape, b.shape)
      let ia = IndexMap.broadcast(from: a.shape, to: shape)
      let ib = IndexMap.broadcast(from: b.shape, to: shape)
      if case .float(let x) = a.elements, case .float(let y) = b.elements {
        return [Tensor(shape: shape, bools: (0..<ia.count).map { float(x[ia[$0]], y[ib[$0]]) })]
      }
      let x = try a.ints("input 0")
      let y = try b.ints("input 1")
      return [Tensor(shape: shape, bools: (0..<ia.count).map { int(x[ia[$0]], y[ib[$0]]) })]
    })
  }

  static func integerDivision(_ a: Int64, _ b: Int64) throws -> Int64 {
    guard b != 0 else { throw ONNXError.invalidArgument("integer division by zero") }
    return a.dividedReportingOverflow(by: b).partialValue
  }

  /// Where(condition, x, y): x where the condition holds, else y; differentiable in x and y.
  static let whereOperator = OperatorDefinition(
    since: 9, differentiableInputs: [1, 2],
    forward: { c in
      let condition = try c.input(0)
      let x = try c.input(1)
      let y = try c.input(2)
      let shape = try IndexMap.broadcastShape(IndexMap.broadcastShape(condition.shape, x.shape), y.shape)
      let mask = try condition.bools("condition")
      let ic = IndexMap.broadcast(from: condition.shape, to: shape)
      let ix = IndexMap.broadcast(from: x.shape, to: shape)
      let iy = IndexMap.broadcast(from: y.shape, to: shape)
      switch (x.elements, y.elements) {
      case (.float(let a), .float(let b)):
        return [Tensor(shape: shape, floats: (0..<ic.count).map { mask[ic[$0]] ? a[ix[$0]] : b[iy[$0]] })]
      case (.int64(let a), .int64(let b)):
        return [Tensor(shape: shape, ints: (0..<ic.count).map { mask[ic[$0]] ? a[ix[$0]] : b[iy[$0]] })]
      case (.bool(let a), .bool(let b)):
        return [Tensor(shape: shape, bools: (0..<ic.count).map { mask[ic[$0]] ? a[ix[$0]] : b[iy[$0]] })]
      default:
        throw ONNXError.typeMismatch("X and Y must have one type, got \(x.typeName) and \(y.typeName)")
      }
    },
    backward: { c, outputs, gradients, needs in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil, nil] }
      let condition = try c.input(0)
      let mask = try condition.bools("condition")
      let shape = outputs[0].shape
      let ic = IndexMap.broadcast(from: condition.shape, to: shape)
      var result: [Tensor?] = [nil, nil, nil]
      for (slot, taken) in [(1, true), (2, false)] where needs[slot] {
        let operand = try c.input(slot)
        let map = IndexMap.broadcast(from: operand.shape, to: shape)
        var d = [Float](repeating: 0, count: operand.count)
        for i in 0..<g.count where mask[ic[i]] == taken { d[map[i]] += g[i] }
        result[slot] = Tensor(shape: operand.shape, floats: d)
      }
      return result
    })

  /// Mod(a, b), the remainder of a / b.
  ///
  /// With fmod = 0 (integers only) the remainder takes the divisor's sign, as in Python; with
  /// fmod = 1 it takes the dividend's, as C's fmod. Differentiable for floats: ∂/∂a = 1,
  /// ∂/∂b = −trunc(a/b).
  static let mod = OperatorDefinition(
    since: 10, differentiableInputs: [0, 1],
    forward: { c in
      let fmod = try c.int("fmod", default: 0) != 0
      let a = try c.input(0)
      let b = try c.input(1)
      if case .float = a.elements, !fmod { throw ONNXError.invalidModel("Mod of floats needs fmod = 1") }
      return try arithmetic(
        FloatRule(value: { Foundation.fmod($0, $1) }, da: { _, _, _ in 1 }, db: { _, _, _ in 0 }),
        integer: { x, y in
          guard y != 0 else { throw ONNXError.invalidArgument("integer modulo by zero") }
          let r = x.remainderReportingOverflow(dividingBy: y).partialValue
          return !fmod && r != 0 && (r < 0) != (y < 0) ? r &+ y : r
        }
      ).forward(OperatorContext(node: c.node, opset: c.opset, inputs: [a, b]))
    },
    stackedBackward: { c, outputs, gradients, needs, rows in
      try arithmetic(
        FloatRule(
          value: { Foundation.fmod($0, $1) }, da: { _, _, _ in 1 }, db: { a, b, _ in -(a / b).rounded(.towardZero) }),
        integer: nil
      ).stackedBackward?(c, outputs, gradients, needs, rows) ?? [nil, nil]
    })

  static let all: [String: OperatorDefinition] = [
    "Mod": mod,
    "Add": arithmetic(
      .init(
        value: { $0 + $1 }, da: { _, _, _ in 1 }, db: { _, _, _ in 1 }, constantSlopes: (1, 1), run: run(of: Sum.self)),
      integer: { $0 &+ $1 }),
    "Sub": arithmetic(
      .init(
        value: { $0 - $1 }, da: { _, _, _ in 1 }, db: { _, _, _ in -1 }, constantSlopes: (1, -1),
        run: run(of: Difference.self)),
      integer: { $0 &- $1 }),
    "Mul": arithmetic(
      .init(
        value: { $0 * $1 }, da: { _, b, _ in b }, db: { a, _, _ in a }, run: run(of: Product.self),
        aGradient: run(of: Product.self), bGradient: run(of: Product.self)),
      integer: { $0 &* $1 }),
    "Div": arithmetic(
      .init(
        value: { $0 / $1 }, da: { _, b, _ in 1 / b }, db: { _, b, y in -y / b }, run: run(of: Quotient.self),
        aGradient: run(of: Quotient.self)),
      integer: integerDivision),
    "Pow": arithmetic(
      .init(
        value: { pow($0, $1) }, da: { a, b, _ in b == 0 ? 0 : b * pow(a, b - 1) },
        db: { a, _, y in a > 0 ? log(a) * y : 0 }), integer: nil),
    "PRelu": arithmetic(
      .init(value: { $0 > 0 ? $0 : $0 * $1 }, da: { a, b, _ in a > 0 ? 1 : b }, db: { a, _, _ in a > 0 ? 0 : a }),
      integer: nil),
    "Equal": predicate({ $0 == $1 }, { $0 == $1 }),
    "Less": predicate({ $0 < $1 }, { $0 < $1 }),
    "Greater": predicate({ $0 > $1 }, { $0 > $1 }),
    "LessOrEqual": predicate({ $0 <= $1 }, { $0 <= $1 }),
    "GreaterOrEqual": predicate({ $0 >= $1 }, { $0 >= $1 }),
    "And": predicate({ $0 != 0 && $1 != 0 }, { $0 != 0 && $1 != 0 }),
    "Or": predicate({ $0 != 0 || $1 != 0 }, { $0 != 0 || $1 != 0 }),
    "Where": whereOperator,
  ]
}
