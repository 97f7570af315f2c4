/// How one parameter group's per-sample gradient factors as an outer product (ABI 1.1,
/// `entk_group_factor`): ∂f_c/∂θ[π(o, j)] = Δ_c[o] · a[j].
///
/// Found once when a model opens, only for dense layers applied once to one row (M = 1), where
/// the factorisation is exact: a Gemm's or MatMul's weight initializer, and its bias.
public struct GroupFactor: Sendable, Equatable {
  /// Where a(x) comes from.
  public enum Input: Sendable, Equatable {
    /// `scale` times the elements of a forward value, flattened.
    case value(String, scale: Float)
    /// The single constant `[scale]`: a bias (I = 1).
    case constant(Float)
  }

  public var input: Input
  /// I: the length of a(x).
  public var inputDim: Int
  /// O: the length of each Δ_c(x).
  public var outputDim: Int
  /// The value (O elements per sample) whose gradient with respect to logit c is Δ_c.
  public var delta: String

  /// One entry per parameter in `parameters` (the groups, in order): its factor, or nil when the
  /// group stays plain.
  ///
  /// `values` are the forward values of one sample (batch 1), which fix every shape; a group
  /// factors only when its initializer is read by exactly one node input, so the node is the only
  /// way it reaches the logits. π per case (B's layout decides it; transA does not, as A has one
  /// row either way):
  /// - Gemm, transB = 0, B [K, N]: π(o, j) = j·N + o; transB = 1, B [N, K]: π(o, j) = o·K + j;
  ///   a = alpha·A, Δ = ∂f/∂Y.
  /// - Gemm's C of N elements ([N] or [1, N]): π(o, 0) = o, a = [beta], Δ = ∂f/∂Y.
  /// - MatMul, B [K, N]: π(o, j) = j·N + o, a = A, Δ = ∂f/∂Y.
  /// - The bias of N elements an Add adds to such a MatMul's Y (Y read by nothing else, no
  ///   broadcasting): π(o, 0) = o, a = [1], Δ = ∂f/∂(Add's output).
  static func find(in graph: Graph, parameters: [String], values: [String: Tensor], output: String) -> [GroupFactor?] {
    var readers: [String: [(node: Int, slot: Int)]] = [:]
    for (index, node) in graph.nodes.enumerated() {
      for (slot, name) in node.inputs.enumerated() where !name.isEmpty {
        readers[name, default: []].append((index, slot))
      }
    }
    let parameterSet = Set(parameters)
    /// Whether `name` is a parameter read only by slot `slot` of node `index` (and not the output).
    func readOnlyBy(_ name: String, _ index: Int, _ slot: Int) -> Bool {
      guard parameterSet.contains(name), name != output, let uses = readers[name], uses.count == 1 else { return false }
      return uses[0] == (index, slot)
    }

    var factors: [String: GroupFactor] = [:]
    for (index, node) in graph.nodes.enumerated() {
      let found: [String: GroupFactor]
      switch node.opType {
      case "Gemm": found = gemm(index, graph, values, readOnlyBy)
      case "MatMul": found = matMul(index, graph, values, readers, readOnlyBy)
      default: continue
      }
      // Each parameter has one reader, so no two nodes claim it.
      factors.merge(found) { first, _ in first }
    }
    return parameters.map { factors[$0] }
  }

  private static func gemm(
    _ index: Int, _ graph: Graph, _ values: [String: Tensor], _ readOnlyBy: (String, Int, Int) -> Bool
  ) -> [String: GroupFactor] {
    let node = graph.nodes[index]
    guard node.inputs.count >= 2, let yName = node.outputs.first, !yName.isEmpty, let a = values[node.inputs[0]],
      let b = values[node.inputs[1]], let y = values[yName], a.rank == 2, b.rank == 2, y.rank == 2
    else { return [:] }
    let context = OperatorContext(node: node, opset: 0, inputs: [])
    guard let (transA, transB, alpha, beta) = try? LinearOperators.gemmAttributes(context) else { return [:] }
    let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
    let n = transB ? b.shape[0] : b.shape[1]
    guard m == 1, y.shape == [1, n], b.count == k * n else { return [:] }
    var found: [String: GroupFactor] = [:]
    if readOnlyBy(node.inputs[1], index, 1) {
      found[node.inputs[1]] = GroupFactor(
        input: .value(node.inputs[0], scale: alpha), inputDim: k, outputDim: n, delta: yName)
    }
    if node.inputs.count > 2, readOnlyBy(node.inputs[2], index, 2), let c = values[node.inputs[2]],
      c.shape == [n] || c.shape == [1, n]
    {
      found[node.inputs[2]] = GroupFactor(input: .constant(beta), inputDim: 1, outputDim: n, delta: yName)
    }
    return found
  }

  private static func matMul(
    _ index: Int, _ graph: Graph, _ values: [String: Tensor], _ readers: [String: [(node: Int, slot: Int)]],
    _ readOnlyBy: (String, Int, Int) -> Bool
  ) -> [String: GroupFactor] {
    let node = graph.nodes[index]
    guard node.inputs.count == 2, let yName = node.outputs.first, !yName.isEmpty, let a = values[node.inputs[0]],
      let b = values[node.inputs[1]], let y = values[yName], b.rank == 2, readOnlyBy(node.inputs[1], index, 1)
    else { return [:] }
    let (k, n) = (b.shape[0], b.shape[1])
    // One row: every dimension of A but its last is 1 (no batch, M = 1), so Y holds N values.
    guard a.rank >= 1, a.shape.last == k, a.count == k, y.count == n, y.shape.last == n else { return [:] }
    var found = [
      node.inputs[1]: GroupFactor(input: .value(node.inputs[0], scale: 1), inputDim: k, outputDim: n, delta: yName)
    ]
    // The bias of an Add that reads Y alone: ∂f/∂bias = ∂f/∂(Add's output), element for element.
    guard let uses = readers[yName], uses.count == 1 else { return found }
    let add = graph.nodes[uses[0].node]
    let biasName = add.inputs.count == 2 ? add.inputs[1 - uses[0].slot] : ""
    guard add.opType == "Add", add.inputs.count == 2, let sum = add.outputs.first, !sum.isEmpty,
      values[sum]?.shape == y.shape
    else { return found }
    if readOnlyBy(biasName, uses[0].node, 1 - uses[0].slot), let bias = values[biasName],
      bias.count == n, bias.shape.last == n
    {
      found[biasName] = GroupFactor(input: .constant(1), inputDim: 1, outputDim: n, delta: sum)
    }
    return found
  }
}
