/// One parameter group (a layer): a contiguous range of the flat parameter vector.
public struct ParameterGroup: Sendable, Equatable, Codable {
  public var name: String
  /// Index of the group's first parameter.
  public var offset: Int
  /// Number of parameters in the group.
  public var count: Int

  public init(name: String, offset: Int, count: Int) {
    self.name = name
    self.offset = offset
    self.count = count
  }
}

/// What an open model takes and produces, as its backend's `describe` reports it.
public struct ModelDescription: Sendable, Equatable, Encodable {
  /// The model's inputs, in the order the backend's calls take their buffers: one float32 input
  /// for most models, several typed ones for a text model (`input_ids`, `attention_mask`).
  public var inputs: [ModelInput]
  /// C: logits per sample.
  public var numOutputs: Int
  /// P: differentiable parameters.
  public var numParams: Int
  /// E: embedding (penultimate feature) size; 0 if the model has none.
  public var embeddingSize: Int
  /// Parameter groups in order of offset, covering 0..<P.
  public var parameterGroups: [ParameterGroup]

  /// Input 0's per-sample shape (the ABI's `input_shape`): the whole input of a one-input model.
  public var inputShape: [Int] { inputs.first?.shape ?? [] }
  /// Input 0's elements per sample.
  public var inputSize: Int { inputShape.reduce(1, *) }

  /// The input, when the model takes exactly one float32 input: the models whose samples are plain
  /// float arrays (every ABI 1.0–1.2 backend's).
  public var singleFloatInput: ModelInput? {
    inputs.count == 1 && inputs[0].elementType == .float32 ? inputs[0] : nil
  }

  /// The inputs as messages name them: `[1, 8, 8]` for one float32 input, else
  /// `'input_ids' (int64 [16]), 'attention_mask' (int64 [16])`.
  public var inputSummary: String {
    singleFloatInput.map { "\($0.shape)" } ?? inputs.map(\.description).joined(separator: ", ")
  }

  public init(
    inputs: [ModelInput], numOutputs: Int, numParams: Int, embeddingSize: Int, parameterGroups: [ParameterGroup]
  ) {
    self.inputs = inputs
    self.numOutputs = numOutputs
    self.numParams = numParams
    self.embeddingSize = embeddingSize
    self.parameterGroups = parameterGroups
  }

  /// A model of one float32 input named `input`.
  public init(inputShape: [Int], numOutputs: Int, numParams: Int, embeddingSize: Int, parameterGroups: [ParameterGroup])
  {
    self.init(
      inputs: [ModelInput(name: "input", elementType: .float32, shape: inputShape)], numOutputs: numOutputs,
      numParams: numParams, embeddingSize: embeddingSize, parameterGroups: parameterGroups)
  }

  private enum CodingKeys: String, CodingKey {
    case inputs, inputShape, numOutputs, numParams, embeddingSize, parameterGroups
  }

  /// Encodes `inputShape` (input 0's) beside `inputs`, as `entk inspect --json` printed it before
  /// models had several inputs.
  public func encode(to encoder: Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(inputs, forKey: .inputs)
    try container.encode(inputShape, forKey: .inputShape)
    try container.encode(numOutputs, forKey: .numOutputs)
    try container.encode(numParams, forKey: .numParams)
    try container.encode(embeddingSize, forKey: .embeddingSize)
    try container.encode(parameterGroups, forKey: .parameterGroups)
  }

  /// Checks the rules the ABI states for `describe` and `param_group`; returns the first broken
  /// one, or nil.
  public func violation() -> String? {
    if inputs.isEmpty { return "the model has no inputs" }
    var inputNames = Set<String>()
    for input in inputs {
      if input.name.isEmpty { return "an input has an empty name" }
      if !inputNames.insert(input.name).inserted { return "input name '\(input.name)' is used twice" }
      if input.shape.isEmpty { return "input '\(input.name)' has rank 0" }
      if let bad = input.shape.first(where: { $0 <= 0 }) {
        return "input '\(input.name)' shape \(input.shape) has a non-positive dimension \(bad)"
      }
    }
    if numOutputs < 1 { return "num_outputs is \(numOutputs)" }
    if numParams < 1 { return "num_params is \(numParams)" }
    if embeddingSize < 0 { return "embedding_size is \(embeddingSize)" }
    if parameterGroups.isEmpty { return "no parameter groups" }
    var next = 0
    var names = Set<String>()
    for (index, group) in parameterGroups.enumerated() {
      if group.name.isEmpty { return "parameter group \(index) has no name" }
      if !names.insert(group.name).inserted { return "parameter group name '\(group.name)' is used twice" }
      if group.count < 1 { return "parameter group '\(group.name)' has count \(group.count)" }
      if group.offset != next {
        return
          "parameter group '\(group.name)' starts at \(group.offset), expected \(next) (groups must be contiguous and in order)"
      }
      let (end, overflow) = next.addingReportingOverflow(group.count)
      if overflow { return "parameter group '\(group.name)' ends past Int.max" }
      next = end
    }
    if next != numParams { return "parameter groups cover \(next) parameters, num_params is \(numParams)" }
    return nil
  }
}
