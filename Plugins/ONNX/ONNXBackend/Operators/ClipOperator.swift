/// Clip(x, min, max): bounds from attributes before opset 11, from optional inputs after.
///
/// The gradient passes where min ≤ x ≤ max (as PyTorch's clamp).
enum ClipOperator {
  static func bounds(_ c: OperatorContext) throws -> (Float, Float) {
    if c.opset < 11 {
      return (
        try c.float("min", default: -Float.greatestFiniteMagnitude),
        try c.float("max", default: Float.greatestFiniteMagnitude)
      )
    }
    func bound(_ slot: Int, _ fallback: Float) throws -> Float {
      guard let t = c.optionalInput(slot) else { return fallback }
      guard t.count == 1 else { throw ONNXError.shapeMismatch("Clip bound \(slot) must be a scalar, got \(t.shape)") }
      return try t.floats("Clip bound")[0]
    }
    return (try bound(1, -Float.greatestFiniteMagnitude), try bound(2, Float.greatestFiniteMagnitude))
  }

  static let clip = OperatorDefinition(
    differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      let (low, high) = try bounds(c)
      return [Tensor(shape: x.shape, floats: try c.floats(0).map { min(max($0, low), high) })]
    },
    backward: { c, _, gradients, _ in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
      let x = try c.floats(0)
      let (low, high) = try bounds(c)
      return [
        Tensor(shape: try c.input(0).shape, floats: (0..<x.count).map { x[$0] >= low && x[$0] <= high ? g[$0] : 0 })
      ]
    })

  static let all: [String: OperatorDefinition] = ["Clip": clip]
}
