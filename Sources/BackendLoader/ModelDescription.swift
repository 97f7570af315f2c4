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
public struct ModelDescription: Sendable, Equatable, Codable {
  /// One sample's input shape (no batch dimension).
  public var inputShape: [Int]
  /// C: logits per sample.
  public var numOutputs: Int
  /// P: differentiable parameters.
  public var numParams: Int
  /// E: embedding (penultimate feature) size; 0 if the model has none.
  public var embeddingSize: Int
  /// Parameter groups in order of offset, covering 0..<P.
  public var parameterGroups: [ParameterGroup]

  /// Floats per input sample: the product of `inputShape`.
  public var inputSize: Int { inputShape.reduce(1, *) }

  public init(inputShape: [Int], numOutputs: Int, numParams: Int, embeddingSize: Int, parameterGroups: [ParameterGroup])
  {
    self.inputShape = inputShape
    self.numOutputs = numOutputs
    self.numParams = numParams
    self.embeddingSize = embeddingSize
    self.parameterGroups = parameterGroups
  }

  /// Checks the rules the ABI states for `describe` and `param_group`; returns the first broken
  /// one, or nil.
  public func violation() -> String? {
    if inputShape.isEmpty { return "input rank is 0" }
    if let bad = inputShape.first(where: { $0 <= 0 }) {
      return "input shape \(inputShape) has a non-positive dimension \(bad)"
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
