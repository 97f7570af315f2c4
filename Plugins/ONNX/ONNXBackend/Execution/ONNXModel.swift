/// An opened ONNX model as the entk ABI sees it: one or more inputs with a batch dimension
/// (float32, or int64/int32/bool token ids and masks), C logits per sample, a flat parameter
/// vector made of weight initializers, and an optional embedding.
///
/// Rules (documented in docs/onnx-backend.md):
/// - Inputs: every graph input that is not an initializer, in the graph's order; each sample's
///   shape fixed by the model or by the options `dims`/`shapes` (`ModelInput`). Calls take one
///   buffer per input, n samples each, as the ABI 1.3 `*_inputs` slots pass them.
/// - Parameters: the float initializers of rank ≥ 1 that some node reads in a differentiable
///   input slot (weights, biases, scales; not BatchNormalization's running statistics, not
///   shapes or indices, not scalar constants), in the file's initializer order, optionally
///   restricted by `ModelOptions.parameterPatterns`. One parameter group per initializer.
/// - Embedding: the first input of the Gemm or MatMul that produces the logits (through an
///   Add of a bias or an Identity), per sample flattened; none if the logits come otherwise.
/// - `forward` runs a batch of samples through the graph at once when the probe at open showed
///   that its samples do not mix (`batchedForwardSamples`), and so do the factored rows' forward
///   and reverse passes when the samples also stay apart in every value the reverse pass goes
///   through (`sampleValues`); parameter gradients stay per sample. `jacobian` and `vjp` run one
///   sample a pass. Option `batching` `off` runs every pass on one sample.
public final class ONNXModel {
  public let path: String
  public let interpreter: Interpreter
  /// The graph inputs, in the order calls pass their buffers.
  public let inputs: [ModelInput]
  public let outputName: String
  /// C: logits per sample.
  public let outputCount: Int
  public let embeddingName: String?
  /// E: embedding size per sample, 0 when there is none.
  public let embeddingSize: Int
  /// Parameter initializers in flat order, with their offsets into the flat vector.
  public let parameterNames: [String]
  public let parameterOffsets: [Int]
  public let parameterCount: Int
  /// Per parameter group, how `factoredJacobian` returns it: as factors, or plain when nil.
  public let factors: [GroupFactor?]
  /// Samples `forward` runs through the graph in one pass: 1 unless a batch of two probe samples
  /// gave, at open, each sample's own outputs (no node mixes samples, none fixes the batch at 1);
  /// then as many as keep the pass's values within about 256 MiB.
  public let batchedForwardSamples: Int
  /// Per parameter group, why `factoredJacobian` returns it plain; nil when it is factored.
  public let plainReasons: [String?]
  /// The values that hold each sample's own values in a batched pass, when the factored rows
  /// come from batched passes (`reverseSamples`); nil when the probe at open (`BatchProbe`)
  /// showed that they cannot.
  let sampleValues: Set<String>?
  /// Initializer values, parameters included (replaced by `setParameters`).
  private(set) var initializers: [String: Tensor]
  /// The initializers plus every value that does not depend on the input (weights rearranged,
  /// constants): computed at open and after `setParameters`, so passes skip those nodes.
  private var constants: [String: Tensor]

  /// The per-sample float count of a model whose only input is float32, which the ABI 1.0 slots
  /// (one float buffer) can feed; for any other model an error naming its inputs.
  public func singleFloatInputSize() throws(ONNXError) -> Int {
    guard inputs.count == 1, let input = inputs.first, input.elementType == .float32 else {
      throw .invalidArgument(
        "the model takes \(inputs.count == 1 ? "the input" : "\(inputs.count) inputs") \(inputs.map(\.summary).joined(separator: ", ")), not one float32 input: call the ABI 1.3 *_inputs slots with one buffer per input"
      )
    }
    return input.size
  }

  /// The factors of a `factoredJacobian` layout: `factors`, or for `singleTerm` (the ABI 1.1 slot,
  /// which hosts before ABI 1.3 call) only the groups of one outer product, the sums plain.
  public func layoutFactors(singleTerm: Bool) -> [GroupFactor?] {
    singleTerm ? factors.map { $0.flatMap { $0.terms == 1 && !$0.oneHot ? $0 : nil } } : factors
  }

  /// P_plain: the parameters of the groups `factoredJacobian` returns plain.
  public func plainParameterCount(singleTerm: Bool = false) -> Int {
    let layout = layoutFactors(singleTerm: singleTerm)
    return layout.indices.reduce(0) { sum, g in sum + (layout[g] == nil ? parameterGroup(g)?.count ?? 0 : 0) }
  }

  /// S: floats per sample of `factoredJacobian`, C·P_plain + Σ over factored groups of their a's
  /// and C × R × O Δ's; with `classes` 1, of `factoredVJP`.
  public func factoredRowSize(singleTerm: Bool = false, classes: Int? = nil) -> Int {
    let c = classes ?? outputCount
    return c * plainParameterCount(singleTerm: singleTerm)
      + layoutFactors(singleTerm: singleTerm).reduce(0) { $0 + ($1?.rowLength(classes: c) ?? 0) }
  }

  public convenience init(path: String, options: ModelOptions = ModelOptions()) throws(ONNXError) {
    let file = try ModelLoader.modelFile(path)
    try self.init(graph: try ModelLoader.load(path: file), path: file, options: options)
  }

  /// A model of `path`: a copy of one this process opened before from the same, unchanged file
  /// with the same options (`OpenedModels`), or a new one.
  ///
  /// A host opens one model per thread; parsing, the constant values and the open-time probes
  /// then happen once, and the copies share the weights until one of them sets its parameters.
  public static func open(path: String, options: ModelOptions = ModelOptions()) throws(ONNXError) -> ONNXModel {
    let file = try ModelLoader.modelFile(path)
    let key = OpenedModels.Key(file: file, options: options)
    if let key, let model = OpenedModels.shared.model(for: key) { return ONNXModel(copying: model) }
    let model = try ONNXModel(path: file, options: options)
    if let key { OpenedModels.shared.keep(model, for: key) }
    return ONNXModel(copying: model)
  }

  /// Another model with the same graph, parameters and settings (the tensors are shared until
  /// either model replaces its parameters).
  private init(copying other: ONNXModel) {
    path = other.path
    interpreter = other.interpreter
    inputs = other.inputs
    outputName = other.outputName
    outputCount = other.outputCount
    embeddingName = other.embeddingName
    embeddingSize = other.embeddingSize
    parameterNames = other.parameterNames
    parameterOffsets = other.parameterOffsets
    parameterCount = other.parameterCount
    factors = other.factors
    batchedForwardSamples = other.batchedForwardSamples
    plainReasons = other.plainReasons
    sampleValues = other.sampleValues
    initializers = other.initializers
    constants = other.constants
  }

  public init(graph: Graph, path: String, options: ModelOptions = ModelOptions()) throws(ONNXError) {
    ProcessTuning.applied
    self.path = path
    interpreter = try Interpreter(graph: graph)
    initializers = graph.initializers

    guard !graph.inputs.isEmpty else { throw .unsupported("\(path): the graph has no inputs") }
    try Self.checkShapeOptions(options, graph: graph, path: path)
    var described: [ModelInput] = []
    for info in graph.inputs {
      do {
        described.append(try ModelInput(info, options: options))
      } catch {
        throw error.prefixed(path)
      }
    }
    let inputNames = Set(graph.inputs.map(\.name))

    if let requested = options.output {
      guard graph.outputs.contains(where: { $0.name == requested }) else {
        throw .invalidArgument(
          "\(path): option output '\(requested)' is not a graph output (outputs: \(graph.outputs.map(\.name)))")
      }
      outputName = requested
    } else {
      outputName = graph.outputs[0].name
    }

    let names = Self.weightInitializers(graph, interpreter)
    var chosen = names
    if let patterns = options.parameterPatterns {
      chosen = names.filter { name in patterns.contains { ModelOptions.matches(name, $0) } }
      for pattern in patterns where !names.contains(where: { ModelOptions.matches($0, pattern) }) {
        throw .invalidArgument("\(path): params pattern '\(pattern)' matches no weight initializer (weights: \(names))")
      }
    }
    guard !chosen.isEmpty else {
      throw .invalidModel("\(path): the model has no float weight initializers to differentiate")
    }
    parameterNames = chosen
    var offsets: [Int] = []
    var total = 0
    for name in chosen {
      offsets.append(total)
      total += graph.initializers[name]?.count ?? 0
    }
    parameterOffsets = offsets
    parameterCount = total

    if let node = interpreter.nodesWithoutReversePass(from: Set(chosen)).first {
      throw .unsupported(
        "\(path): node '\(node.name)' (\(node.opType), opset \(graph.opset)) lies between the parameters and the outputs but has no reverse pass"
      )
    }

    // Shape inference by running one zero sample: it also proves the graph runs.
    do {
      constants = try interpreter.constantValues(graph.initializers, inputs: inputNames)
    } catch {
      throw error.prefixed(path)
    }
    for k in described.indices where described[k].elementType == .int64 || described[k].elementType == .int32 {
      described[k].indexRange = ModelInput.indexRange(of: described[k].name, graph: graph, constants: constants)
    }
    inputs = described
    let runs = BatchProbe.Runs(
      interpreter: interpreter, constants: constants, inputs: described, probing: options.batching != .off)
    let values: [String: Tensor]
    do {
      values = try runs.zero.get()
    } catch {
      throw error.prefixed(path)
    }
    guard let logits = values[outputName] else {
      throw .invalidModel("\(path): output '\(outputName)' was not computed")
    }
    guard logits.isFloat else {
      throw .unsupported(
        "\(path): output '\(outputName)' has element type \(logits.typeName) and cannot be differentiated; the backend needs float logits"
      )
    }
    guard logits.rank >= 1, logits.shape[0] == 1, logits.count >= 1 else {
      throw .unsupported(
        "\(path): output '\(outputName)' has shape \(logits.shape) for a batch of 1; expected [batch, C, ...]")
    }
    outputCount = logits.count
    guard interpreter.dependents(of: Set(chosen)).contains(outputName) else {
      throw .invalidModel("\(path): output '\(outputName)' does not depend on any parameter")
    }
    let factoring = GroupFactor.find(
      in: graph, parameters: chosen, shapes: values.mapValues(\.shape), output: outputName,
      constants: Set(constants.keys), convolutions: options.convolutionFactoring,
      tokens: options.tokenFactoring)
    // The pattern sample's run, made here when the batch probe did not make it.
    let pattern: @Sendable () -> [String: Tensor]? = { [interpreter, constants, runs, described] in
      runs.pattern
        ?? (try? BatchProbe.Runs.run(interpreter: interpreter, constants: constants, inputs: described) {
          $0.pattern(afterZeros: false)
        }.get())
    }
    let kept = TermLiveness.keptRows(
      interpreter: interpreter, samples: [{ [values] in values }, pattern], constants: Set(constants.keys),
      output: outputName, factors: factoring.map(\.factor))
    factors = zip(factoring, kept).map { factoring, kept in
      guard var factor = factoring.factor, let kept else { return factoring.factor }
      (factor.terms, factor.kept) = (kept.rows.count, kept)
      return factor
    }
    plainReasons = factoring.map(\.reason)
    let embedding = Self.embeddingValue(graph, output: outputName)
    if let embedding, let value = values[embedding], value.isFloat, value.rank >= 1, value.shape[0] == 1 {
      embeddingName = embedding
      embeddingSize = value.count
    } else {
      embeddingName = nil
      embeddingSize = 0
    }
    // A pass's own values: what the input reaches (the constants are shared by every pass).
    let shared = constants
    let valueFloats = values.reduce(0) { $0 + (shared[$1.key] == nil ? $1.value.count : 0) }
    let probe =
      options.batching == .off
      ? nil
      : BatchProbe(
        interpreter: interpreter, runs: runs, zeroSample: values, inputs: described,
        checked: [outputName] + (embeddingName.map { [$0] } ?? []), parameters: chosen, factors: factors)
    batchedForwardSamples = probe?.forward ?? false ? max(1, (1 << 26) / max(1, valueFloats)) : 1
    sampleValues = batchedForwardSamples > 1 ? probe?.sampleValues : nil
  }

  /// Samples per forward and reverse pass of the factored rows with `classes` seed rows a
  /// sample: with `sampleValues`, as many as keep the pass's values and its `classes` live
  /// gradients within about 64 MiB (a quarter of the forward pass's budget); else 1.
  ///
  /// Larger batches gained no more arithmetic time on ResNet-18 and BERT-small (pntk, 2-core
  /// VM: the same user time with batches of 5 and 23, 2 and 9) but cost fresh memory, whose first
  /// touch costs more than the arithmetic here (0.3–1.8 s more system time per process).
  func reverseSamples(classes: Int) -> Int {
    sampleValues == nil ? 1 : max(1, batchedForwardSamples / (4 * (1 + classes)))
  }

  /// Refuses `dims` names that are no symbolic non-batch dimension of an input and `shapes` names
  /// that are no input: a misspelt option would otherwise be silently ignored.
  static func checkShapeOptions(_ options: ModelOptions, graph: Graph, path: String) throws(ONNXError) {
    let names = graph.inputs.map(\.name)
    for name in options.shapes.keys.sorted() where !names.contains(name) {
      throw .invalidArgument("\(path): option 'shapes' names '\(name)', which is not an input (inputs: \(names))")
    }
    let symbols = Set(graph.inputs.flatMap { $0.symbols.dropFirst().compactMap { $0 } })
    for name in options.dimensions.keys.sorted() where !symbols.contains(name) {
      throw .invalidArgument(
        "\(path): option 'dims' names '\(name)', which is no symbolic dimension of an input (symbolic non-batch dimensions: \(symbols.sorted()))"
      )
    }
  }

  /// Float initializers of rank ≥ 1 read in some node's differentiable input slot, in file order.
  static func weightInitializers(_ graph: Graph, _ interpreter: Interpreter) -> [String] {
    var weights = Set<String>()
    for (node, definition) in zip(graph.nodes, interpreter.definitions) {
      for slot in node.inputs.indices
      where definition.differentiates(slot) && !definition.statisticInputs.contains(slot) {
        weights.insert(node.inputs[slot])
      }
    }
    return graph.initializerNames.filter { name in
      guard weights.contains(name), let t = graph.initializers[name] else { return false }
      return t.isFloat && t.rank >= 1 && t.count >= 1
    }
  }

  /// The value feeding the last Gemm/MatMul before `output` (through Add and Identity).
  static func embeddingValue(_ graph: Graph, output: String) -> String? {
    var producer: [String: Node] = [:]
    for node in graph.nodes {
      for o in node.outputs where !o.isEmpty { producer[o] = node }
    }
    var current = output
    for _ in 0..<graph.nodes.count {
      guard let node = producer[current] else { return nil }
      switch node.opType {
      case "Gemm", "MatMul": return node.inputs.first
      case "Identity": current = node.inputs.first ?? ""
      case "Add":
        guard let next = node.inputs.first(where: { producer[$0] != nil && graph.initializers[$0] == nil }) else {
          return nil
        }
        current = next
      default: return nil
      }
    }
    return nil
  }

  // MARK: Running

  /// The constant values and every input holding `samples` of `buffers` as one batch.
  private func feeds(_ buffers: [UnsafeRawPointer], samples: Range<Int>) -> [String: Tensor] {
    var values = constants
    for (input, buffer) in zip(inputs, buffers) { values[input.name] = input.tensor(buffer, samples: samples) }
    return values
  }

  /// Checks a call's n and buffers (one per input), and that every value is one the model can use.
  private func check(_ buffers: [UnsafeRawPointer], count n: Int) throws(ONNXError) {
    guard n >= 1 else { throw .invalidArgument("n must be ≥ 1, got \(n)") }
    guard buffers.count == inputs.count else {
      throw .invalidArgument(
        "\(buffers.count) input buffers for a model with \(inputs.count) inputs (\(inputs.map(\.summary).joined(separator: ", ")))"
      )
    }
    for (input, buffer) in zip(inputs, buffers) { try input.validate(buffer, count: n) }
  }

  /// The one float buffer of the ABI 1.0 calls as the buffer list of the others.
  private func floatBuffers(_ inputs: UnsafeBufferPointer<Float>, count n: Int) throws(ONNXError) -> [UnsafeRawPointer]
  {
    let size = try singleFloatInputSize()
    guard n >= 1 else { throw .invalidArgument("n must be ≥ 1, got \(n)") }
    guard inputs.count == n * size, let base = inputs.baseAddress else {
      throw .invalidArgument("\(inputs.count) input floats for \(n) samples of \(size)")
    }
    return [UnsafeRawPointer(base)]
  }

  /// Runs the forward pass of sample `i`: an error says which sample it came from.
  private func runSample(_ buffers: [UnsafeRawPointer], _ i: Int) throws(ONNXError) -> [String: Tensor] {
    do {
      return try interpreter.run(feeds(buffers, samples: i..<(i + 1)))
    } catch {
      throw error.atSamples("sample \(i)")
    }
  }

  /// `forward` of a model whose one input is float32 (`inputs`: n × its size floats).
  public func forward(
    _ inputs: UnsafeBufferPointer<Float>, count n: Int, logits out: UnsafeMutableBufferPointer<Float>,
    embedding: UnsafeMutableBufferPointer<Float>?
  ) throws(ONNXError) {
    try forward(floatBuffers(inputs, count: n), count: n, logits: out, embedding: embedding)
  }

  /// Logits (n × C) and, if `embedding` is given, the embedding (n × E): `batchedForwardSamples`
  /// samples per pass through the graph.
  ///
  /// `buffers` holds one buffer per input (`inputs` order), n × that input's size elements of its
  /// type; they are only read during the call.
  public func forward(
    _ buffers: [UnsafeRawPointer], count n: Int, logits out: UnsafeMutableBufferPointer<Float>,
    embedding: UnsafeMutableBufferPointer<Float>?
  ) throws(ONNXError) {
    try check(buffers, count: n)
    guard out.count == n * outputCount, embedding.map({ $0.count == n * embeddingSize }) ?? true else {
      throw .invalidArgument("buffer sizes do not match n = \(n), C = \(outputCount), E = \(embeddingSize)")
    }
    var first = 0
    while first < n {
      let count = min(batchedForwardSamples, n - first)
      let values: [String: Tensor]
      do {
        values = try interpreter.run(feeds(buffers, samples: first..<(first + count)))
      } catch {
        throw error.atSamples(count == 1 ? "sample \(first)" : "samples \(first)..<\(first + count)")
      }
      try copySamples(values[outputName], name: outputName, size: outputCount, count: count, into: out, at: first)
      if let embedding, let name = embeddingName {
        try copySamples(values[name], name: name, size: embeddingSize, count: count, into: embedding, at: first)
      }
      first += count
    }
  }

  /// Copies `count` samples of `size` floats from a batched value to rows `first`… of `target`.
  private func copySamples(
    _ value: Tensor?, name: String, size: Int, count: Int, into target: UnsafeMutableBufferPointer<Float>, at first: Int
  ) throws(ONNXError) {
    guard let value, case .float(let v) = value.elements, v.count == count * size else {
      throw .invalidModel("\(path): '\(name)' does not hold \(size) floats for each of \(count) samples")
    }
    for j in 0..<(count * size) { target[first * size + j] = v[j] }
  }

  /// Writes, for each of the K = `cotangents.count / C` cotangent rows u, Σ_c u[c] ∂f_c/∂θ of one
  /// sample's forward `values` into consecutive rows of P floats starting at `rows`: one reverse
  /// pass carries all K rows, and each parameter's gradient goes straight into its columns.
  private func parameterGradients(
    _ values: [String: Tensor], cotangents: [Float], into rows: UnsafeMutablePointer<Float>
  ) throws(ONNXError) {
    guard let shape = values[outputName]?.shape else { throw .invalidModel("output '\(outputName)' missing") }
    let k = cotangents.count / outputCount
    var sinks: [String: ParameterSink] = [:]
    for index in parameterNames.indices {
      guard let group = parameterGroup(index) else { continue }
      sinks[group.name] = ParameterSink(base: rows + group.offset, rowStride: parameterCount, count: group.count)
    }
    _ = try interpreter.gradients(
      values: values, seeds: [outputName: Tensor(shape: [k] + shape, floats: cotangents)], rows: k,
      sources: Set(parameterNames), sinks: sinks)
  }

  /// `vjp` of a model whose one input is float32 (`inputs`: n × its size floats).
  public func vjp(
    _ inputs: UnsafeBufferPointer<Float>, count n: Int, cotangents: UnsafeBufferPointer<Float>,
    gradients: UnsafeMutableBufferPointer<Float>
  ) throws(ONNXError) {
    try vjp(floatBuffers(inputs, count: n), count: n, cotangents: cotangents, gradients: gradients)
  }

  /// Per-sample vector-Jacobian products: gradients (n × P) for cotangents (n × C); `buffers` as
  /// for `forward`.
  public func vjp(
    _ buffers: [UnsafeRawPointer], count n: Int, cotangents: UnsafeBufferPointer<Float>,
    gradients: UnsafeMutableBufferPointer<Float>
  ) throws(ONNXError) {
    try check(buffers, count: n)
    guard let base = gradients.baseAddress, cotangents.count == n * outputCount, gradients.count == n * parameterCount
    else {
      throw .invalidArgument("buffer sizes do not match n = \(n), C = \(outputCount), P = \(parameterCount)")
    }
    for i in 0..<n {
      let values = try runSample(buffers, i)
      let u = Array(cotangents[(i * outputCount)..<((i + 1) * outputCount)])
      try parameterGradients(values, cotangents: u, into: base + i * parameterCount)
    }
  }

  /// `jacobian` of a model whose one input is float32 (`inputs`: n × its size floats).
  public func jacobian(_ inputs: UnsafeBufferPointer<Float>, count n: Int, jacobians: UnsafeMutableBufferPointer<Float>)
    throws(ONNXError)
  {
    try jacobian(floatBuffers(inputs, count: n), count: n, jacobians: jacobians)
  }

  /// Full per-sample Jacobians (n × C × P): one forward pass and one reverse pass carrying the C
  /// unit cotangents per sample; `buffers` as for `forward`.
  public func jacobian(_ buffers: [UnsafeRawPointer], count n: Int, jacobians: UnsafeMutableBufferPointer<Float>)
    throws(ONNXError)
  {
    try check(buffers, count: n)
    guard let base = jacobians.baseAddress, jacobians.count == n * outputCount * parameterCount else {
      throw .invalidArgument("buffer sizes do not match n = \(n), C = \(outputCount), P = \(parameterCount)")
    }
    var identity = [Float](repeating: 0, count: outputCount * outputCount)
    for c in 0..<outputCount { identity[c * outputCount + c] = 1 }
    for i in 0..<n {
      let values = try runSample(buffers, i)
      try parameterGradients(values, cotangents: identity, into: base + i * outputCount * parameterCount)
    }
  }

  /// `factoredJacobian` of a model whose one input is float32 (`inputs`: n × its size floats).
  public func factoredJacobian(
    _ inputs: UnsafeBufferPointer<Float>, count n: Int, rows: UnsafeMutableBufferPointer<Float>,
    singleTerm: Bool = false
  ) throws(ONNXError) {
    try factoredJacobian(floatBuffers(inputs, count: n), count: n, rows: rows, singleTerm: singleTerm)
  }

  /// Per-sample Jacobians with the factored groups as factors (n × S, the layout of the ABI's
  /// `factored_jacobian_inputs`).
  ///
  /// Per sample one forward pass and one reverse pass carrying the C unit cotangents back to the
  /// plain parameters and the factored layers' outputs only, so the factored weights' own
  /// gradients (C × I × O per layer) are never formed. With `singleTerm`, the layout of hosts
  /// before ABI 1.3: groups of several terms (embedding tables) plain.
  public func factoredJacobian(
    _ buffers: [UnsafeRawPointer], count n: Int, rows: UnsafeMutableBufferPointer<Float>, singleTerm: Bool = false
  ) throws(ONNXError) {
    var identity = [Float](repeating: 0, count: outputCount * outputCount)
    for c in 0..<outputCount { identity[c * outputCount + c] = 1 }
    try factoredRows(buffers, count: n, rows: rows, singleTerm: singleTerm, classes: outputCount) { _ in identity }
  }

  /// Per-sample vector-Jacobian products in the factored layout with the classes contracted (the
  /// ABI's `factored_vjp_inputs`): one reverse pass per sample with its cotangent row u_i (C floats).
  public func factoredVJP(
    _ buffers: [UnsafeRawPointer], count n: Int, cotangents: UnsafeBufferPointer<Float>,
    rows: UnsafeMutableBufferPointer<Float>
  ) throws(ONNXError) {
    guard cotangents.count == n * outputCount else {
      throw .invalidArgument("\(cotangents.count) cotangents for n = \(n) samples of C = \(outputCount)")
    }
    try factoredRows(buffers, count: n, rows: rows, singleTerm: false, classes: 1) { i in
      Array(cotangents[(i * outputCount)..<((i + 1) * outputCount)])
    }
  }

  /// Where a factored row's parts go: each plain parameter's columns (in the block of C·P_plain)
  /// and each factored group's start.
  private struct FactoredRowLayout {
    var plain: [(name: String, column: Int, count: Int)] = []
    var factored: [(factor: GroupFactor, start: Int)] = []
    var plainCount = 0
    var width = 0
  }

  private func factoredRowLayout(singleTerm: Bool, classes: Int) -> FactoredRowLayout {
    var layout = FactoredRowLayout()
    layout.plainCount = plainParameterCount(singleTerm: singleTerm)
    var next = classes * layout.plainCount
    for (g, factor) in layoutFactors(singleTerm: singleTerm).enumerated() {
      guard let group = parameterGroup(g) else { continue }
      if let factor {
        layout.factored.append((factor, next))
        next += factor.rowLength(classes: classes)
      } else {
        layout.plain.append((group.name, layout.plain.last.map { $0.column + $0.count } ?? 0, group.count))
      }
    }
    layout.width = next
    return layout
  }

  /// The factored rows of `classes` seed rows a sample (`seeds(i)`: classes × C floats): the plain
  /// groups' gradients, then each factored group's a's and Δ's; `reverseSamples(classes:)`
  /// samples per forward and reverse pass.
  private func factoredRows(
    _ buffers: [UnsafeRawPointer], count n: Int, rows: UnsafeMutableBufferPointer<Float>, singleTerm: Bool,
    classes: Int, seeds: (Int) -> [Float]
  ) throws(ONNXError) {
    try check(buffers, count: n)
    let layout = factoredRowLayout(singleTerm: singleTerm, classes: classes)
    guard let base = rows.baseAddress, rows.count == n * layout.width else {
      throw .invalidArgument("buffer sizes do not match n = \(n), S = \(layout.width)")
    }
    let batch = reverseSamples(classes: classes)
    var first = 0
    while first < n {
      let count = min(batch, n - first)
      let samples = first..<(first + count)
      do {
        try factoredRows(
          feeds(buffers, samples: samples), samples: count, layout: layout, classes: classes,
          seeds: samples.flatMap(seeds), into: base + first * layout.width)
      } catch {
        throw error.atSamples(count == 1 ? "sample \(first)" : "samples \(samples)")
      }
      first += count
    }
  }

  /// The factored rows of the `samples` samples of `feeds`, one forward and one reverse pass
  /// (`Interpreter.gradients` with a `SampleBatch` for several), into rows `layout.width` apart.
  ///
  /// `seeds`: classes × C floats per sample.
  private func factoredRows(
    _ feeds: [String: Tensor], samples: Int, layout: FactoredRowLayout, classes: Int, seeds: [Float],
    into rows: UnsafeMutablePointer<Float>
  ) throws(ONNXError) {
    let values = try interpreter.run(feeds)
    guard let shape = values[outputName]?.shape else { throw .invalidModel("output '\(outputName)' missing") }
    // The seeds as [classes][sample][C].
    let c = outputCount
    var seed = [Float](repeating: 0, count: classes * samples * c)
    for b in 0..<samples {
      for k in 0..<classes {
        for j in 0..<c { seed[(k * samples + b) * c + j] = seeds[(b * classes + k) * c + j] }
      }
    }
    var sinks: [String: ParameterSink] = [:]
    for entry in layout.plain {
      sinks[entry.name] = ParameterSink(
        base: rows + entry.column, rowStride: layout.plainCount, count: entry.count, sampleStride: layout.width)
    }
    let sources = Set(layout.plain.map(\.name)).union(layout.factored.map(\.factor.delta))
    let batch = sampleValues.map { SampleBatch(samples: samples, values: $0) }
    let gradients = try interpreter.gradients(
      values: values, seeds: [outputName: Tensor(shape: [classes] + shape, floats: seed)], rows: classes,
      sources: sources, sinks: sinks, batch: batch)
    for b in 0..<samples {
      let row = rows + b * layout.width
      for (factor, start) in layout.factored {
        try writeFactor(
          factor, values: values, gradients: gradients, sample: b, of: batch, classes: classes, into: row + start)
      }
    }
  }

  /// Sample b's a's and Δ's of one factored group at `a`; `batch` tells which values hold the
  /// pass's samples (the others, position ids for instance, are the same for every sample).
  private func writeFactor(
    _ factor: GroupFactor, values: [String: Tensor], gradients: [String: Tensor], sample b: Int, of batch: SampleBatch?,
    classes: Int, into a: UnsafeMutablePointer<Float>
  ) throws(ONNXError) {
    // Sample b's part of a value: (its offset in units of one sample's part, the parts it holds).
    let part = { (name: String) in batch?.values.contains(name) ?? true ? (b, batch?.samples ?? 1) : (0, 1) }
    switch factor.input {
    case .constant(let scale): a.pointee = scale
    case .value(let name, let scale):
      // One row (a dense layer's input) or R rows (a sequence's tokens), [r][j] as they lie; of
      // a sum with rows left out, the kept rows.
      let (first, parts) = part(name)
      let (width, size) = (factor.inputDim, factor.valueTerms * factor.inputDim)
      guard let value = values[name], case .float(let v) = value.elements, v.count == parts * size else {
        throw .invalidModel("\(path): '\(name)' does not hold the \(size) floats it held when the model opened")
      }
      let rows = factor.kept?.rows ?? Array(0..<factor.terms)
      for (k, r) in rows.enumerated() {
        let source = first * size + r * width
        for j in 0..<width { a[k * width + j] = scale * v[source + j] }
      }
    case .indices(let name):
      let (first, parts) = part(name)
      guard let value = values[name], let indices = try? value.ints(name), indices.count == parts * factor.terms else {
        throw .invalidModel(
          "\(path): '\(name)' does not hold the \(factor.terms) indices it held when the model opened")
      }
      // Gather's negative indices count from the end; the forward pass checked the range.
      for r in 0..<factor.terms {
        let k = indices[first * factor.terms + r]
        a[r] = Float(k < 0 ? k + Int64(factor.inputDim) : k)
      }
    case .patches(let name, let patches):
      let (first, parts) = part(name)
      let plane = patches.channels * patches.window.inputPlane
      guard let value = values[name], case .float(let v) = value.elements, v.count == parts * plane else {
        throw .invalidModel("\(path): '\(name)' does not hold the input it held when the model opened")
      }
      Self.fillPatchRows(v, from: first * plane, patches, terms: factor.terms, into: a)
    }
    let width = factor.terms * factor.outputDim
    let deltas = a + (factor.oneHot ? factor.terms : factor.terms * factor.inputDim)
    let channelsFirst: Int? = if case .patches = factor.input { factor.outputDim } else { nil }
    // A value of the samples has gradient rows [class][sample]; another value's are per sample.
    let sampleMajor = batch.map { !$0.values.contains(factor.delta) } ?? false
    if let kept = factor.kept {
      // The whole gradient rows, then the kept ones; the others must be zero, as found at open.
      let whole = kept.total * factor.outputDim
      let rows = UnsafeMutablePointer<Float>.allocate(capacity: classes * whole)
      defer { rows.deallocate() }
      try copyRows(
        gradients[factor.delta], rows: classes, count: whole, sample: b, of: batch?.samples ?? 1,
        sampleMajor: sampleMajor, into: rows, stride: whole)
      try Self.keepRows(
        kept, of: rows, classes: classes, width: factor.outputDim, into: deltas, delta: factor.delta, path: path)
    } else {
      try copyRows(
        gradients[factor.delta], rows: classes, count: width, sample: b, of: batch?.samples ?? 1,
        sampleMajor: sampleMajor, into: deltas, stride: width, transposingChannels: channelsFirst)
    }
    // A row read where nothing reaches the logits (a padding token the mask hides) has Δ = 0 for
    // every class: marked absent (-1), it costs the kernel no comparisons with other rows.
    if factor.oneHot {
      for r in 0..<factor.terms {
        let silent = (0..<classes).allSatisfy { c in
          UnsafeBufferPointer(start: deltas + c * width + r * factor.outputDim, count: factor.outputDim)
            .allSatisfy { $0 == 0 }
        }
        if silent { a[r] = -1 }
      }
    }
  }

  /// The `kept` rows of each class's `kept.total` rows of `width` at `whole`, packed at `target`.
  ///
  /// - Throws: when a row left out is not zero: `TermLiveness` found at open that no input can
  ///   make it so, and a kernel without it would be wrong.
  static func keepRows(
    _ kept: GroupFactor.KeptRows, of whole: UnsafePointer<Float>, classes: Int, width: Int,
    into target: UnsafeMutablePointer<Float>, delta: String, path: String
  ) throws(ONNXError) {
    let dropped = (0..<kept.total).filter { !kept.rows.contains($0) }
    for c in 0..<classes {
      let source = whole + c * kept.total * width
      for r in dropped {
        guard UnsafeBufferPointer(start: source + r * width, count: width).allSatisfy({ $0 == 0 }) else {
          throw .invalidModel(
            "\(path): the gradient of '\(delta)' is not zero at row \(r), which opening the model found no input can reach (a backend bug: please report it with the model)"
          )
        }
      }
      for (k, r) in kept.rows.enumerated() {
        (target + (c * kept.rows.count + k) * width).update(from: source + r * width, count: width)
      }
    }
  }

  /// A convolution's R patches of one sample's input (`x` from `offset`), as rows [r][j] (the
  /// ABI's a's).
  private static func fillPatchRows(
    _ x: [Float], from offset: Int, _ patches: ConvolutionPatches, terms: Int, into a: UnsafeMutablePointer<Float>
  ) {
    let matrix = PatchMatrix(window: patches.window, channels: patches.channels)
    var columns = [Float](repeating: 0, count: matrix.rows * terms)
    x.withUnsafeBufferPointer { x in
      columns.withUnsafeMutableBufferPointer { columns in
        guard let x = x.baseAddress, let columns = columns.baseAddress else { return }
        matrix.fill(from: x + offset, into: columns, leading: terms)
        MatrixMultiply.transpose(columns, rows: matrix.rows, columns: terms, into: a)
      }
    }
  }

  /// Copies sample b's part of the `rows` rows of a stacked gradient to `target`, `stride` apart
  /// (`count` floats each).
  ///
  /// The gradient holds rows × `samples` parts of `count`, row-major ([rows] + value shape, its
  /// value holding the samples) or, `sampleMajor`, each sample's rows together (`SampleBatch`);
  /// nil for zero. With `channels`, each row is [channels][positions] (a convolution's output)
  /// and is written transposed, [position][channel] (the ABI's Δ's).
  private func copyRows(
    _ gradient: Tensor?, rows: Int, count: Int, sample b: Int, of samples: Int, sampleMajor: Bool = false,
    into target: UnsafeMutablePointer<Float>, stride: Int, transposingChannels channels: Int? = nil
  ) throws(ONNXError) {
    guard let gradient else {
      for c in 0..<rows { (target + c * stride).update(repeating: 0, count: count) }
      return
    }
    guard case .float(let v) = gradient.elements, v.count == rows * samples * count else {
      throw .invalidModel(
        "\(path): a stacked gradient of shape \(gradient.shape) does not hold \(rows) rows of \(samples) × \(count) floats"
      )
    }
    v.withUnsafeBufferPointer { buffer in
      guard let base = buffer.baseAddress else { return }
      for c in 0..<rows {
        let source = base + (sampleMajor ? b * rows + c : c * samples + b) * count
        if let channels {
          MatrixMultiply.transpose(source, rows: channels, columns: count / channels, into: target + c * stride)
        } else {
          (target + c * stride).update(from: source, count: count)
        }
      }
    }
  }

  /// The flat parameter vector (P floats).
  public func parameters() -> [Float] {
    parameterNames.flatMap { name -> [Float] in
      if case .float(let v)? = initializers[name]?.elements { return v }
      return []
    }
  }

  /// Replaces the parameters from a flat vector of P floats.
  public func setParameters(_ flat: UnsafeBufferPointer<Float>) throws(ONNXError) {
    guard flat.count == parameterCount else {
      throw .invalidArgument("\(flat.count) parameters given, the model has \(parameterCount)")
    }
    for (k, name) in parameterNames.enumerated() {
      guard let shape = initializers[name]?.shape else { continue }
      let offset = parameterOffsets[k]
      initializers[name] = Tensor(shape: shape, floats: Array(flat[offset..<(offset + shape.reduce(1, *))]))
    }
    constants = try interpreter.constantValues(initializers, inputs: Set(inputs.map(\.name)))
  }

  /// Name, offset and count of parameter group `index`.
  public func parameterGroup(_ index: Int) -> (name: String, offset: Int, count: Int)? {
    guard index >= 0, index < parameterNames.count else { return nil }
    let end = index + 1 < parameterOffsets.count ? parameterOffsets[index + 1] : parameterCount
    return (parameterNames[index], parameterOffsets[index], end - parameterOffsets[index])
  }
}
