/// What an operator sees when it runs: its node (attributes), the model's opset and the
/// input tensors (nil for omitted optional inputs).
struct OperatorContext {
  let node: Node
  let opset: Int
  let inputs: [Tensor?]
  /// In a reverse pass, per input slot, the caller's buffer for that parameter's gradient (see
  /// `ParameterSink`); empty otherwise.
  var sinks: [SinkSlot?] = []
  /// What the operator's `prepare` made of the node's constant inputs, if anything.
  var prepared: Tensor? = nil

  /// The sink of input `slot`, if the reverse pass gave one.
  func sink(_ slot: Int) -> SinkSlot? { slot < sinks.count ? sinks[slot] : nil }

  /// Required input `index`.
  func input(_ index: Int) throws(ONNXError) -> Tensor {
    guard index < inputs.count, let tensor = inputs[index] else {
      throw .invalidModel("input \(index) is required")
    }
    return tensor
  }

  /// Optional input `index`: nil when absent or named "".
  func optionalInput(_ index: Int) -> Tensor? {
    index < inputs.count ? inputs[index] : nil
  }

  /// Float input `index`.
  func floats(_ index: Int) throws(ONNXError) -> [Float] {
    try input(index).floats("input \(index)")
  }

  func int(_ name: String, default value: Int) throws(ONNXError) -> Int {
    switch node.attributes[name] {
    case nil: return value
    case .int(let v)?: return Int(v)
    default: throw .invalidModel("attribute '\(name)' must be an int")
    }
  }

  func float(_ name: String, default value: Float) throws(ONNXError) -> Float {
    switch node.attributes[name] {
    case nil: return value
    case .float(let v)?: return v
    case .int(let v)?: return Float(v)
    default: throw .invalidModel("attribute '\(name)' must be a float")
    }
  }

  func string(_ name: String, default value: String) throws(ONNXError) -> String {
    switch node.attributes[name] {
    case nil: return value
    case .string(let v)?: return v
    default: throw .invalidModel("attribute '\(name)' must be a string")
    }
  }

  /// An ints attribute, or nil when absent.
  func ints(_ name: String) throws(ONNXError) -> [Int]? {
    switch node.attributes[name] {
    case nil: return nil
    case .ints(let v)?: return v.map { Int($0) }
    case .int(let v)?: return [Int(v)]
    default: throw .invalidModel("attribute '\(name)' must be a list of ints")
    }
  }

  /// Integers given either as attribute `name` (older opsets) or as input `index` (newer).
  func intsFromAttributeOrInput(_ name: String, input index: Int) throws(ONNXError) -> [Int]? {
    if let values = try ints(name) { return values }
    guard let tensor = optionalInput(index) else { return nil }
    return try tensor.ints("input \(index) ('\(name)')").map { Int($0) }
  }

  /// Resolves a possibly negative axis against `rank`.
  func axis(_ value: Int, rank: Int) throws(ONNXError) -> Int {
    let resolved = value < 0 ? value + rank : value
    guard resolved >= 0, resolved < max(rank, 1) else {
      throw .invalidModel("axis \(value) is out of range for rank \(rank)")
    }
    return resolved
  }
}

/// How one operator runs forwards and, if differentiable, backwards.
struct OperatorDefinition: Sendable {
  /// First default-domain opset that has the operator (never below 7 here).
  var since: Int = 1
  /// Input slots the reverse pass returns gradients for (float inputs only).
  var differentiableInputs: [Int] = []
  /// Differentiable slots that hold statistics rather than weights (BatchNormalization's
  /// running mean and variance): an initializer read only there is not a parameter.
  var statisticInputs: [Int] = []
  /// For variadic operators (Concat, Sum, Max...): every input slot is differentiable.
  var differentiatesEveryInput = false
  /// Input slots whose gradient the reverse pass writes into the slot's sink when it has one
  /// (`OperatorContext.sink`), returning nil for that slot instead of a tensor.
  var sinkInputs: [Int] = []
  /// Work on a node's constant inputs (weights rearranged for the operator), done once.
  ///
  /// Called when the model's constants are computed, with the constant inputs (the others nil);
  /// the tensor it returns reaches every forward and reverse call as `OperatorContext.prepared`.
  /// An operator must check that it fits the inputs it is given.
  var prepare: (@Sendable (OperatorContext) throws -> Tensor?)? = nil
  /// Computes the outputs (one tensor per declared output, extras ignored by the graph).
  var forward: @Sendable (OperatorContext) throws -> [Tensor]
  /// The reverse pass of one output gradient, for operators without `stackedBackward`.
  ///
  /// Given the forward context, its outputs, the gradients of its outputs (nil = zero) and which
  /// inputs need gradients, returns one gradient per input slot (nil = none).
  var backward: (@Sendable (OperatorContext, [Tensor], [Tensor?], [Bool]) throws -> [Tensor?])? = nil
  /// The reverse pass for K output gradients at once; an operator that has it has no `backward`.
  ///
  /// The gradients come stacked along a new leading axis ([K] + output shape; nil = zero for
  /// every row) and so do the input gradients returned ([K] + input shape); the last argument is
  /// K. Row r must equal the pass with row r alone (K = 1): stacking only lets one sgemm serve K
  /// rows and shares work that does not depend on the gradient (im2col, argmax, derivatives).
  var stackedBackward: (@Sendable (OperatorContext, [Tensor], [Tensor?], [Bool], Int) throws -> [Tensor?])? = nil

  /// The reverse pass of a batch of samples whose weight inputs need gradients per sample.
  ///
  /// Arguments as `stackedBackward`'s, then `weights` (the input slots whose gradients are per
  /// sample) and the number of samples, which lie one after another along axis 0 of the sample
  /// values. Returns what `stackedBackward` returns, except that a weight's gradient is
  /// [samples · rows] + its shape, sample-major; or nil when the call's shapes are not ones it
  /// handles, and the interpreter then reverses each sample alone for the weights.
  var batchedWeightsBackward:
    (@Sendable (OperatorContext, [Tensor], [Tensor?], [Bool], [Bool], Int, Int) throws -> [Tensor?]?)? = nil

  /// Whether the operator has a reverse pass.
  var hasReversePass: Bool { stackedBackward != nil || backward != nil }

  /// Whether the reverse pass gives a gradient for input `slot`.
  func differentiates(_ slot: Int) -> Bool {
    differentiatesEveryInput || differentiableInputs.contains(slot)
  }

  /// The reverse pass for `rows` stacked output gradients: `stackedBackward`, or else `backward`
  /// once per row.
  func reverse(_ context: OperatorContext, _ outputs: [Tensor], _ gradients: [Tensor?], _ needs: [Bool], rows: Int)
    throws -> [Tensor?]
  {
    if let stackedBackward { return try stackedBackward(context, outputs, gradients, needs, rows) }
    guard let backward else { throw ONNXError.unsupported("operator '\(context.node.opType)' has no reverse pass") }
    return try StackedRows.backward(backward, context, outputs, gradients, needs, rows: rows)
  }
}
