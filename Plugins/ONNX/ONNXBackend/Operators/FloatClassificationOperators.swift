/// IsNaN and IsInf: which elements of a float tensor are NaN or infinite (bool results, nothing
/// to differentiate).
///
/// PyTorch's exporters use them after a masked Softmax: a row whose every logit is masked to −inf
/// gives NaN, which `Where(IsNaN(p), 0, p)` replaces by 0.
enum FloatClassificationOperators {
  static func classifying(since: Int, _ test: @escaping @Sendable (OperatorContext) throws -> (Float) -> Bool)
    -> OperatorDefinition
  {
    OperatorDefinition(
      since: since,
      forward: { c in
        let x = try c.input(0)
        let holds = try test(c)
        return [Tensor(shape: x.shape, bools: try c.floats(0).map(holds))]
      })
  }

  static let all: [String: OperatorDefinition] = [
    "IsNaN": classifying(since: 9) { _ in { $0.isNaN } },
    "IsInf": classifying(since: 10) { c in
      let (positive, negative) = (
        try c.int("detect_positive", default: 1) != 0, try c.int("detect_negative", default: 1) != 0
      )
      return { $0.isInfinite && ($0 > 0 ? positive : negative) }
    },
  ]
}
