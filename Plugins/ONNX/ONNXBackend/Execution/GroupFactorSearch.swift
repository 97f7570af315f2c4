extension GroupFactor {
  /// One entry per parameter in `parameters` (the groups, in order): its factor, or why not.
  ///
  /// `shapes` are every value's shape for one sample (batch 1); `output` is the logits.
  /// `constants` names the values that do not depend on the input.
  static func find(
    in graph: Graph, parameters: [String], shapes: [String: [Int]], output: String, constants: Set<String>,
    convolutions: ModelOptions.SumFactoring = .auto, tokens: ModelOptions.SumFactoring = .auto
  ) -> [GroupFactoring] {
    let search = GroupFactorSearch(
      graph: graph, shapes: shapes, output: output, constants: constants, convolutions: convolutions, tokens: tokens)
    return parameters.map(search.factoring)
  }
}

/// Decides from the graph's dataflow whether a parameter's gradient is one outer product.
///
/// A parameter is followed from its initializer through nodes that only rearrange elements (each
/// output element is one input element and each input element appears once: Identity, Reshape,
/// Flatten, Squeeze, Unsqueeze, Transpose) to the node that computes with it. Every value on the
/// way must be read by exactly one node input, so that node is the parameter's only way to the
/// logits. The parameter then factors exactly when that node is
/// - a MatMul or Gemm (either operand) that uses each weight element in exactly one product, with
///   one element of the other operand, for one output element: the other operand X holds K
///   elements (one row) and the weight K·O for an output Y of O. a = scale·X (I = K; scale is a
///   Gemm's alpha, 1 for MatMul), Δ = ∂f/∂Y.
/// - a MatMul's right operand applied to every row of the left one (the tokens of a sequence): a
///   sum over the R rows r of a_r = X[r] (I = K) times Δ_r = ∂f/∂Y[r] (O), when `tokens` allows
///   (by default when the sum holds fewer floats than the C·K·O whole columns).
/// - a Gemm's C with as many elements as Y (not broadcast): a = [beta], Δ = ∂f/∂Y.
/// - an Add whose output has as many elements as the parameter (not broadcast): a = [1],
///   Δ = ∂f/∂(the Add's output).
/// - a Gather of rows (axis 0) from a table [V, D] (an embedding): the gradient is a sum over the
///   R indices read, each a one-hot a_r = e_{index} (I = V) times Δ_r = ∂f/∂(row r read) (O = D).
/// - a Conv's weight [O, C, k...] with one group: a sum over the R output positions of
///   a_r = the input patch at r (I = C·k...) times Δ_r = ∂f/∂Y[:, r] (O), when `convolutions` and
///   the cost rule below allow.
/// Rearrangements only change π, which the host never needs; so the exporters' forms (Gemm with
/// either transB, MatMul on a Transpose of the weight, MatMul on a pre-transposed weight, a bias
/// Add in either slot, reshapes in between) are all the same case.
struct GroupFactorSearch {
  let graph: Graph
  let shapes: [String: [Int]]
  let output: String
  /// The values that do not depend on the input (position ids, for instance).
  let constants: Set<String>
  /// Per value, the (node index, input slot) pairs that read it.
  let readers: [String: [(node: Int, slot: Int)]]
  let convolutions: ModelOptions.SumFactoring
  let tokens: ModelOptions.SumFactoring

  /// Operators whose output holds each element of input 0 exactly once, in some order.
  static let rearrangements: Set<String> = ["Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"]

  init(
    graph: Graph, shapes: [String: [Int]], output: String, constants: Set<String> = [],
    convolutions: ModelOptions.SumFactoring = .auto, tokens: ModelOptions.SumFactoring = .auto
  ) {
    self.graph = graph
    self.convolutions = convolutions
    self.tokens = tokens
    self.shapes = shapes
    self.output = output
    self.constants = constants
    var readers: [String: [(node: Int, slot: Int)]] = [:]
    for (index, node) in graph.nodes.enumerated() {
      for (slot, name) in node.inputs.enumerated() where !name.isEmpty {
        readers[name, default: []].append((index, slot))
      }
    }
    self.readers = readers
  }

  func factoring(of parameter: String) -> GroupFactoring {
    var value = parameter
    var path: [String] = []
    // Each step moves to a later node of the (acyclic) graph.
    for _ in 0...graph.nodes.count {
      let uses = readers[value] ?? []
      guard value != output, uses.count == 1, let use = uses.first else {
        return .plain(reason: (value == output ? "it is the model's output" : shared(uses)) + through(path))
      }
      let node = graph.nodes[use.node]
      if use.slot == 0, Self.rearrangements.contains(node.opType), node.outputs.count == 1, !node.outputs[0].isEmpty {
        value = node.outputs[0]
        path.append(Self.describe(node))
        continue
      }
      let found = computation(node, slot: use.slot, value: value)
      if case .plain(let reason) = found { return .plain(reason: reason + through(path)) }
      return found
    }
    return .plain(reason: "its dataflow does not end")
  }

  /// How the parameter, arriving as `value`, factors in the node that computes with it.
  private func computation(_ node: Node, slot: Int, value: String) -> GroupFactoring {
    let y = node.outputs.first ?? ""
    guard !y.isEmpty, let yCount = count(y), let valueCount = count(value) else {
      return .plain(reason: "\(Self.describe(node)) has no output shape")
    }
    switch node.opType {
    case "MatMul":
      guard node.inputs.count == 2, let k = shapes[node.inputs[0]]?.last else { break }
      let found = product(
        node, other: node.inputs[1 - slot], k: k, scale: 1, weightCount: valueCount, y: y, yCount: yCount)
      return slot == 1 ? tokenSum(node, found, k: k, weightCount: valueCount, y: y, yCount: yCount) : found
    case "Gemm":
      let context = OperatorContext(node: node, opset: graph.opset, inputs: [])
      guard let (transA, _, alpha, beta) = try? LinearOperators.gemmAttributes(context) else { break }
      if slot == 2 {
        return valueCount == yCount
          ? .factored(GroupFactor(input: .constant(beta), inputDim: 1, outputDim: yCount, delta: y))
          : .plain(reason: "\(Self.describe(node)) broadcasts it over \(yCount / valueCount) positions")
      }
      guard let a = shapes[node.inputs[0]], a.count == 2 else { break }
      return product(
        node, other: node.inputs[1 - slot], k: transA ? a[0] : a[1], scale: alpha, weightCount: valueCount, y: y,
        yCount: yCount)
    case "Add":
      return valueCount == yCount
        ? .factored(GroupFactor(input: .constant(1), inputDim: 1, outputDim: yCount, delta: y))
        : .plain(reason: "\(Self.describe(node)) broadcasts it over \(yCount / valueCount) positions")
    case "Gather" where slot == 0:
      let context = OperatorContext(node: node, opset: graph.opset, inputs: [])
      let axis = (try? context.int("axis", default: 0)) ?? 0
      guard let table = shapes[value], table.count == 2, axis == 0 || axis == -2, node.inputs.count == 2,
        let indices = count(node.inputs[1]), indices >= 1, yCount == indices * table[1]
      else {
        return .plain(reason: "\(Self.describe(node)) reads it other than as rows of a matrix")
      }
      // Per pair of samples the sum costs R² index comparisons, or, when every sample reads the
      // same rows (position ids), R·C·D scalar multiply-adds; whole columns cost C·V·D
      // multiply-adds at sgemm's pace, some 40 times faster. Only a table that large is a sum.
      let classes = count(output) ?? 1
      let pairCost = constants.contains(node.inputs[1]) ? indices * classes * table[1] : indices * indices
      guard 40 * pairCost < classes * table[0] * table[1] else {
        return .plain(
          reason:
            "\(Self.describe(node)) reads its \(table[0])-row table at \(indices) positions: whole columns cost less than a sum of \(indices) one-hot terms"
        )
      }
      return .factored(
        GroupFactor(
          input: .indices(node.inputs[1]), inputDim: table[0], outputDim: table[1], delta: y, terms: indices))
    case "Conv" where slot == 1:
      return convolution(node, y: y)
    case "Conv", "ConvTranspose":
      // A kernel is applied at each output (Conv) or input (ConvTranspose) position.
      let positions = node.opType == "Conv" ? shapes[y] : shapes[node.inputs[0]]
      if let positions, positions.count > 2 {
        let count = positions.dropFirst(2).reduce(1, *)
        if count > 1 { return .plain(reason: "\(Self.describe(node)) applies it at \(count) positions") }
      }
      return .plain(reason: "read by \(Self.describe(node)); convolutions do not factor")
    default: break
    }
    return .plain(
      reason: "read by \(Self.describe(node)) (input \(slot)); only MatMul, Gemm, Add, Gather of rows and Conv factor")
  }

  /// A Conv's weight as a sum over output positions r of Δ_r ⊗ patch_r.
  private func convolution(_ node: Node, y: String) -> GroupFactoring {
    let name = Self.describe(node)
    guard node.inputs.count >= 2, let x = shapes[node.inputs[0]], let w = shapes[node.inputs[1]],
      let out = shapes[y], x.count >= 3, w.count == x.count, out.count == x.count
    else { return .plain(reason: "\(name) has no input shape") }
    let context = OperatorContext(node: node, opset: graph.opset, inputs: [])
    let groups = (try? context.int("group", default: 1)) ?? 1
    guard groups == 1 else { return .plain(reason: "\(name) has \(groups) groups") }
    guard let window = try? SpatialWindow(context: context, inputShape: x, kernelShape: Array(w.dropFirst(2))) else {
      return .plain(reason: "\(name) has a window the backend cannot read")
    }
    let (positions, inputDim, outputDim) = (window.outputPlane, x[1] * window.kernelCount, w[0])
    let reason = "\(name) applies it at \(positions) positions"
    switch convolutions {
    case .never: return .plain(reason: reason + " (option conv_factors is 'never')")
    case .always: break
    case .auto:
      let classes = count(output) ?? 1
      guard Self.sumCostsLess(positions: positions, inputDim: inputDim, outputDim: outputDim, classes: classes) else {
        return .plain(reason: reason + ": whole columns cost less than a sum of \(positions) patch terms")
      }
    }
    return .factored(
      GroupFactor(
        input: .patches(node.inputs[0], ConvolutionPatches(window: window, channels: x[1])), inputDim: inputDim,
        outputDim: outputDim, delta: y, terms: positions))
  }

  /// Whether a kernel of all C classes' gradients (trntk) costs less with a convolution's weight
  /// as a sum of R patch terms than as whole Jacobian columns, per sample of a 64-sample tile.
  ///
  /// Whole columns: C·O·I entries a sample, which the reverse pass computes at R multiply-adds
  /// each (2R flops), the Gram multiplies once per pair (64/2 pairs, 2 flops) and memory writes,
  /// zeroes and reads again (64 flop-equivalents a float: first touches of fresh memory dominate
  /// on this VM). A sum: R·(I + C·O) floats a sample and R²·(I + C·O) multiply-adds per pair. The
  /// host's kernel stage decides the same way for its own rows and turns sums that cost a kind
  /// with fewer classes per row (pntk) more back into columns, so a sum reported here is never
  /// forced on it. On a CIFAR ResNet-18 (C = 10) the 4×4 and 8×8 stages are sums, the 16×16 and
  /// 32×32 ones columns.
  static func sumCostsLess(positions r: Int, inputDim i: Int, outputDim o: Int, classes c: Int) -> Bool {
    let (n, memory) = (64.0, 64.0)
    let (r, i, o, c) = (Double(r), Double(i), Double(o), Double(c))
    return n * r * r * (i + c * o) + memory * r * (i + c * o) < c * o * i * (2 * r + n + memory)
  }

  /// A MatMul's right operand W [K, O] applied to each of the R rows of X [.., R, K] as a sum over
  /// the rows, where `found` (the one-row rule) left it plain.
  ///
  /// X's rows are contiguous in the value, and so are Y's [.., R, O]: they are the a's and Δ's as
  /// they lie.
  private func tokenSum(_ node: Node, _ found: GroupFactoring, k: Int, weightCount: Int, y: String, yCount: Int)
    -> GroupFactoring
  {
    guard case .plain(let reason) = found, let x = count(node.inputs[0]), k >= 1, x % k == 0, weightCount % k == 0
    else { return found }
    let (rows, outputDim) = (x / k, weightCount / k)
    guard rows > 1, yCount == rows * outputDim, shapes[y]?.last == outputDim else { return found }
    switch tokens {
    case .never: return .plain(reason: reason + " (option token_factors is 'never')")
    case .always: break
    case .auto:
      // A sum smaller than the columns costs the backend nothing more to report, and the kernel
      // stage, which knows the kind and the samples, turns it into columns where they cost less.
      let classes = count(output) ?? 1
      guard rows * (k + classes * outputDim) < classes * k * outputDim else {
        return .plain(reason: reason + ": \(rows) token terms hold more floats than whole columns")
      }
    }
    return .factored(
      GroupFactor(input: .value(node.inputs[0], scale: 1), inputDim: k, outputDim: outputDim, delta: y, terms: rows))
  }

  /// A weight of `weightCount` elements contracted over `k` with `other` into `y` (`yCount` elements).
  private func product(_ node: Node, other: String, k: Int, scale: Float, weightCount: Int, y: String, yCount: Int)
    -> GroupFactoring
  {
    guard k >= 1, let otherCount = count(other) else {
      return .plain(reason: "\(Self.describe(node)) has no input shape")
    }
    if otherCount == k, weightCount == k * yCount {
      return .factored(GroupFactor(input: .value(other, scale: scale), inputDim: k, outputDim: yCount, delta: y))
    }
    // Each weight element takes part in k·Y / W products.
    let uses = k * yCount / max(weightCount, 1)
    if uses > 1 { return .plain(reason: "\(Self.describe(node)) applies it at \(uses) positions") }
    return .plain(reason: "\(Self.describe(node)) uses it as \(otherCount / k) matrices, each with its own input")
  }

  private func count(_ value: String) -> Int? { shapes[value].map { $0.reduce(1, *) } }

  private func shared(_ uses: [(node: Int, slot: Int)]) -> String {
    var nodes: [Int] = []
    for use in uses where !nodes.contains(use.node) { nodes.append(use.node) }
    switch nodes.count {
    case 0: return "no node reads it"
    case 1: return "read \(uses.count) times by \(Self.describe(graph.nodes[nodes[0]]))"
    default:
      let names = nodes.prefix(3).map { Self.describe(graph.nodes[$0]) }.joined(separator: ", ")
      return "shared by \(nodes.count) nodes (\(names)\(nodes.count > 3 ? ", …" : ""))"
    }
  }

  private func through(_ path: [String]) -> String {
    path.isEmpty ? "" : " (through \(path.joined(separator: ", ")))"
  }

  private static func describe(_ node: Node) -> String { "\(node.opType) '\(node.name)'" }
}
