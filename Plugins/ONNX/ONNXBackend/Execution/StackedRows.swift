/// Gradients stacked along a leading row axis ([K] + value shape), as the interpreter's
/// reverse pass carries them, for operators that have only a one-row `backward`.
enum StackedRows {
  /// Runs the one-row `backward` on each of the `rows` rows of the stacked output gradients and
  /// stacks the input gradients (a row an operator leaves at nil is zero when another row is not).
  static func backward(
    _ backward: @Sendable (OperatorContext, [Tensor], [Tensor?], [Bool]) throws -> [Tensor?],
    _ context: OperatorContext, _ outputs: [Tensor], _ gradients: [Tensor?], _ needs: [Bool], rows: Int
  ) throws -> [Tensor?] {
    var perRow: [[Tensor?]] = []
    for r in 0..<rows {
      perRow.append(try backward(context, outputs, try gradients.map { g in try g.map { try row(r, of: $0) } }, needs))
    }
    let slots = perRow.map(\.count).max() ?? 0
    var stacked: [Tensor?] = []
    for slot in 0..<slots {
      let parts = perRow.map { slot < $0.count ? $0[slot] : nil }
      guard let shape = parts.lazy.compactMap({ $0?.shape }).first else {
        stacked.append(nil)
        continue
      }
      let count = shape.reduce(1, *)
      var elements = [Float](repeating: 0, count: rows * count)
      for (r, part) in parts.enumerated() {
        guard let part else { continue }
        let values = try part.floats("gradient")
        guard part.shape == shape, values.count == count else {
          throw ONNXError.shapeMismatch("gradient rows have shapes \(shape) and \(part.shape)")
        }
        elements.replaceSubrange((r * count)..<((r + 1) * count), with: values)
      }
      stacked.append(Tensor(shape: [rows] + shape, floats: elements))
    }
    return stacked
  }

  /// Row `r` of a stacked float gradient, with the leading row axis dropped.
  static func row(_ r: Int, of stacked: Tensor) throws -> Tensor {
    let values = try stacked.floats("gradient")
    let shape = Array(stacked.shape.dropFirst())
    let count = shape.reduce(1, *)
    guard stacked.rank >= 1, values.count == stacked.shape[0] * count, r < stacked.shape[0] else {
      throw ONNXError.shapeMismatch("stacked gradient \(stacked.shape) has no row \(r)")
    }
    return Tensor(shape: shape, floats: Array(values[(r * count)..<((r + 1) * count)]))
  }
}
