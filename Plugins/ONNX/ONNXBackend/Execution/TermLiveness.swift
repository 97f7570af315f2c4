import Dispatch

/// Which rows of a token sum can ever reach the logits, found once when a model opens.
///
/// A classifier that reads one token of its last hidden state (BERT's pooler: a Gather of
/// position 0) makes the last layer's query, attention-output and feed-forward weights meet every
/// other position with a Δ that is zero for every input: of their 64 terms, 63 add nothing. A
/// group keeps only the rows that can be nonzero (`GroupFactor.kept`), which shrinks its
/// features and the Gram's work on it by the same factor.
///
/// The rows are found by a reverse pass of each probe sample seeded with NaN: the operators
/// allowed on the way (`operators`) compute their input gradients by arithmetic on the output
/// gradients, and NaN survives every product and sum, even with 0. So a row whose gradient stays
/// exactly 0 has no arithmetic path from the logits whatever the input, and one that some input
/// could reach is NaN. Two operators route by the data, and the pass makes their routing pass
/// everything: Relu reads an input of ones, and Where (as in `Where(IsNaN(P), 0, P)` after an
/// attention softmax) a condition that sends every gradient to its one input the sums reach.
/// Any other operator between the sums and the logits keeps every row.
///
/// A forward value that is NaN itself (the zero sample's attention rows, all of them masked, in
/// some exports) makes rows look live that are not: each probe sample (the zero sample, the
/// 1, 2, 3, … pattern) finds every live row and maybe more, so the rows live in all are kept. `ONNXModel.writeFactor` checks that the rows
/// left out are zero in every sample it writes.
enum TermLiveness {
  /// Operators whose reverse pass is arithmetic on its output gradients alone, given constant
  /// indices and bounds for Gather and Slice.
  static let operators: Set<String> = [
    "Add", "Sub", "Mul", "Div", "Neg", "Pow", "Sqrt", "Exp", "Erf", "Tanh", "Sigmoid", "MatMul", "Gemm",
    "Softmax", "LayerNormalization", "ReduceMean", "ReduceSum", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
    "Flatten", "Identity", "Cast", "Concat", "Expand", "Gather", "Slice",
  ]

  /// Per factor, the rows to keep when some of a token sum's rows can never reach the logits;
  /// nil for the others, and for every factor when an operator between the sums and the logits
  /// is not one of `operators` (nor Relu, nor a Where of one such input).
  ///
  /// - Parameters:
  ///   - samples: forward values of probe samples (batches of 1), the constants among them, made
  ///     when needed (not for a model without token sums) and probed on a thread each; a sample
  ///     that does not run is skipped.
  ///   - constants: names of the values that do not depend on the input.
  static func keptRows(
    interpreter: Interpreter, samples: [@Sendable () -> [String: Tensor]?], constants: Set<String>, output: String,
    factors: [GroupFactor?]
  ) -> [GroupFactor.KeptRows?] {
    guard factors.contains(where: isTokenSum) else { return factors.map { _ in nil } }
    let probes = Probes(samples.count)
    defer { probes.release() }
    DispatchQueue.concurrentPerform(iterations: samples.count) { i in
      guard let values = samples[i]() else { return }
      probes.found[i] = .some(
        liveRows(interpreter: interpreter, values: values, constants: constants, output: output, factors: factors))
    }
    var live: [[Int]?] = factors.map { $0.map { Array(0..<$0.terms) } }
    for case .some(let probe) in probes.found {
      guard let found = probe else { return factors.map { _ in nil } }
      live = zip(live, found).map { rows, found in rows.map { rows in rows.filter { found?.contains($0) ?? true } } }
    }
    return zip(factors, live).map { factor, rows in
      guard let factor, let rows, rows.count < factor.terms else { return nil }
      // No row reaches the logits: one zero row stands for the group.
      return GroupFactor.KeptRows(rows: rows.isEmpty ? [0] : rows, total: factor.terms)
    }
  }

  /// Per factor, the rows the NaN probe of one sample reaches; nil for a factor that is no token
  /// sum, and nil for all when an operator is in the way.
  private static func liveRows(
    interpreter: Interpreter, values: [String: Tensor], constants: Set<String>, output: String,
    factors: [GroupFactor?]
  ) -> [Set<Int>?]? {
    let sums = factors.compactMap { $0 }.filter(isTokenSum)
    guard !sums.isEmpty, let logits = values[output] else { return nil }
    let deltas = Set(sums.map(\.delta))
    let reached = interpreter.dependents(of: deltas)
    var probe = values
    var routed: [String: Bool] = [:]
    for (node, definition) in zip(interpreter.graph.nodes, interpreter.definitions) {
      guard node.inputs.indices.contains(where: { definition.differentiates($0) && reached.contains(node.inputs[$0]) })
      else { continue }
      switch node.opType {
      case "Relu":
        guard let x = values[node.inputs[0]], x.isFloat else { return nil }
        probe[node.inputs[0]] = Tensor(shape: x.shape, floats: [Float](repeating: 1, count: x.count))
      case "Where":
        // The condition sends every gradient to the one value input the sums reach.
        let branches = [1, 2].filter { node.inputs.count == 3 && reached.contains(node.inputs[$0]) }
        guard node.inputs.count == 3, branches.count == 1, let condition = values[node.inputs[0]] else { return nil }
        let toFirst = branches[0] == 1
        guard routed[node.inputs[0], default: toFirst] == toFirst else { return nil }
        routed[node.inputs[0]] = toFirst
        probe[node.inputs[0]] = Tensor(
          shape: condition.shape, bools: [Bool](repeating: toFirst, count: condition.count))
      default:
        guard allowed(node, constants: constants) else { return nil }
      }
    }
    let seed = Tensor(shape: [1] + logits.shape, floats: [Float](repeating: .nan, count: logits.count))
    guard
      let gradients = try? interpreter.gradients(values: probe, seeds: [output: seed], rows: 1, sources: deltas)
    else { return nil }
    return factors.map { factor in
      guard let factor, isTokenSum(factor) else { return nil }
      // No gradient at all: no row reaches the logits.
      guard let gradient = gradients[factor.delta] else { return [] }
      guard case .float(let g) = gradient.elements, g.count == factor.terms * factor.outputDim else {
        return Set(0..<factor.terms)
      }
      return Set(
        (0..<factor.terms).filter { r in g[(r * factor.outputDim)..<((r + 1) * factor.outputDim)].contains { $0 != 0 } }
      )
    }
  }

  /// Each probe's result, written by one thread: nil when its sample did not run.
  private struct Probes: @unchecked Sendable {
    let found: UnsafeMutableBufferPointer<[Set<Int>?]??>
    init(_ count: Int) {
      found = .allocate(capacity: count)
      found.initialize(repeating: nil)
    }
    func release() {
      found.deinitialize()
      found.deallocate()
    }
  }

  /// Whether `factor` is a sum over rows of a forward value (a sequence's tokens).
  private static func isTokenSum(_ factor: GroupFactor?) -> Bool {
    guard let factor, factor.terms > 1, case .value = factor.input else { return false }
    return true
  }

  /// Whether `node`'s reverse pass is arithmetic on its output gradients: an operator of
  /// `operators`, with Gather's indices and Slice's bounds constant.
  private static func allowed(_ node: Node, constants: Set<String>) -> Bool {
    guard operators.contains(node.opType), node.domain.isEmpty || node.domain == "ai.onnx" else { return false }
    switch node.opType {
    case "Gather": return node.inputs.count == 2 && constants.contains(node.inputs[1])
    case "Slice": return node.inputs.dropFirst().allSatisfy { $0.isEmpty || constants.contains($0) }
    default: return true
    }
  }
}
