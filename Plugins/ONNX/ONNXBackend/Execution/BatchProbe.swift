import Dispatch

/// What a batch of two probe samples shows, at open, about running a graph's samples together.
///
/// The probes are zeros (whose single-sample run the model made at open) and 1, 2, 3, 1, 2, … in
/// every input (`ModelInput.pattern`: valid token ids too). A value *holds samples* when the
/// batch's value is each sample's own value, one contiguous block per sample along its first
/// axis; it is *shared* when the batch's value equals either sample's (position ids cut to the
/// input's length, say). Both within float32 rounding: a batched GEMM may round differently.
struct BatchProbe {
  /// The forward runs a model makes at open: the zero sample's (shapes, and proof that the graph
  /// runs) and, when probing, the probe's pattern sample and the batch of both.
  struct Runs {
    var zero: Result<[String: Tensor], ONNXError>
    var batched: [String: Tensor]?
    var pattern: [String: Tensor]?

    /// The runs on two threads, the zero sample and the pattern on one and the batch of both
    /// on the other: at BERT-base size this takes a fifth of a second off every model open.
    init(interpreter: Interpreter, constants: [String: Tensor], inputs: [ModelInput], probing: Bool) {
      @Sendable func run(_ input: (ModelInput) -> Tensor) -> Result<[String: Tensor], ONNXError> {
        Self.run(interpreter: interpreter, constants: constants, inputs: inputs, input)
      }
      let slots = Slots(3)
      defer {
        slots.buffer.deinitialize()
        slots.buffer.deallocate()
      }
      DispatchQueue.concurrentPerform(iterations: probing ? 2 : 1) { part in
        if part == 0 {
          slots.buffer[0] = run { $0.zeros(samples: 1) }
          if probing { slots.buffer[2] = run { $0.pattern(afterZeros: false) } }
        } else {
          slots.buffer[1] = run { $0.pattern(afterZeros: true) }
        }
      }
      zero = slots.buffer[0] ?? .failure(.invalidModel("the zero sample did not run"))
      batched = try? slots.buffer[1]?.get()
      pattern = try? slots.buffer[2]?.get()
    }

    /// The forward values of one sample whose every input is `input(model)`.
    static func run(
      interpreter: Interpreter, constants: [String: Tensor], inputs: [ModelInput], _ input: (ModelInput) -> Tensor
    ) -> Result<[String: Tensor], ONNXError> {
      var feeds = constants
      for model in inputs { feeds[model.name] = input(model) }
      return Result { () throws(ONNXError) in try interpreter.run(feeds) }
    }

    /// The runs' results, each written by one thread.
    private struct Slots: @unchecked Sendable {
      let buffer: UnsafeMutableBufferPointer<Result<[String: Tensor], ONNXError>?>
      init(_ count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
      }
    }
  }

  /// Whether the logits and the embedding hold samples: the forward pass may batch.
  let forward: Bool
  /// The values that hold samples, when the reverse pass may batch (`SampleBatch`); nil when it
  /// may not.
  ///
  /// The reverse pass needs every value it differentiates through to hold samples or be shared,
  /// every node that computes with the samples and a parameter to read and write only such
  /// values (it is reversed once per sample for the parameter: `Interpreter.gradients`), and the
  /// factors' a's and Δ's to be such values.
  let sampleValues: Set<String>?

  init(
    interpreter: Interpreter, runs: Runs, zeroSample: [String: Tensor], inputs: [ModelInput], checked: [String],
    parameters: [String], factors: [GroupFactor?]
  ) {
    guard let batched = runs.batched, let pattern = runs.pattern else {
      (forward, sampleValues) = (false, nil)
      return
    }
    let singles = [zeroSample, pattern]
    func holdsSamples(_ name: String) -> Bool {
      guard let together = batched[name] else { return false }
      return singles.indices.allSatisfy { i in
        guard let alone = singles[i][name], let first = alone.shape.first, together.shape.first == 2 * first,
          together.shape.dropFirst() == alone.shape.dropFirst()
        else { return false }
        return Self.equal(together, part: i, of: 2, alone)
      }
    }
    func shared(_ name: String) -> Bool {
      guard let together = batched[name] else { return false }
      return singles.allSatisfy { single in
        single[name].map { $0.shape == together.shape && Self.equal(together, part: 0, of: 1, $0) } ?? false
      }
    }
    forward = checked.allSatisfy(holdsSamples)
    guard forward else {
      sampleValues = nil
      return
    }
    let graph = interpreter.graph
    let varying = interpreter.varyingValues(inputs: Set(inputs.map(\.name)))
    let samples = varying.filter(holdsSamples)
    let regular = { (name: String) in name.isEmpty || !varying.contains(name) || samples.contains(name) || shared(name)
    }
    let reached = interpreter.dependents(of: Set(parameters))
    var batchable = factors.compactMap { $0 }.allSatisfy { factor in
      regular(factor.delta) && factor.inputValue.map(regular) ?? true
    }
    for (node, definition) in zip(graph.nodes, interpreter.definitions) where batchable {
      guard node.outputs.contains(where: reached.contains) else { continue }
      let differentiated = node.inputs.indices.filter {
        definition.differentiates($0) && reached.contains(node.inputs[$0])
      }
      let ofSamples = node.outputs.contains(where: samples.contains)
      // A node of the samples with a weight input is reversed per sample for it; a node of the
      // weights alone carries every sample's rows, so none of its inputs may hold samples.
      let weighted = ofSamples && differentiated.contains { !samples.contains(node.inputs[$0]) }
      let mixed = !ofSamples && differentiated.contains { samples.contains(node.inputs[$0]) }
      batchable =
        !mixed && node.outputs.allSatisfy(regular) && (!weighted || node.inputs.allSatisfy(regular))
    }
    sampleValues = batchable ? samples : nil
  }

  /// Whether part `i` of `parts` of `together` (a contiguous block) equals `alone`.
  private static func equal(_ together: Tensor, part i: Int, of parts: Int, _ alone: Tensor) -> Bool {
    switch (together.elements, alone.elements) {
    case (.float(let joint), .float(let own)):
      guard joint.count == parts * own.count else { return false }
      // Infinities and NaN (masks, a probe whose every token is masked) must match exactly.
      return own.indices.allSatisfy { j in
        let (a, b) = (joint[i * own.count + j], own[j])
        return a == b || abs(a - b) <= 1e-4 * (1 + abs(b)) || (a.isNaN && b.isNaN)
      }
    case (.int64(let joint), .int64(let own)):
      return joint.count == parts * own.count && Array(joint[(i * own.count)..<((i + 1) * own.count)]) == own
    case (.bool(let joint), .bool(let own)):
      return joint.count == parts * own.count && Array(joint[(i * own.count)..<((i + 1) * own.count)]) == own
    default: return false
    }
  }
}
