import Testing

@testable import ONNXBackend

/// `batchedWeightsBackward` (one reverse pass of a batch giving each sample's weight gradients)
/// against the stacked reverse pass of each sample alone, and its refusal of weights that do not
/// repeat within each sample.
///
/// Tolerance |batched − alone| ≤ 1e-5·(1 + |alone|): the same sums, in the same order.
struct BatchedWeightsReverseTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var op: String
    var attributes: [String: Attribute] = [:]
    /// Input 0 holds the samples along axis 0; the others are weights.
    var inputs: [Tensor]
    var testDescription: String { "\(op) \(inputs.map(\.shape))" }
  }

  static let samples = 3
  static let rows = 2

  static var cases: [Case] {
    var r = OperatorGradientTests.Numbers(state: 21)
    return [
      Case(op: "Add", inputs: [r.tensor([samples, 4, 5]), r.tensor([5])]),
      Case(op: "Mul", inputs: [r.tensor([samples, 4, 5]), r.tensor([4, 5])]),
      Case(op: "Div", inputs: [r.tensor([samples, 2, 5]), r.tensor([1, 5], 0.5, 2)]),
      Case(
        op: "LayerNormalization", attributes: ["axis": .int(-1), "epsilon": .float(1e-3)],
        inputs: [r.tensor([samples, 4, 6]), r.tensor([6]), r.tensor([6])]),
      Case(
        op: "LayerNormalization", attributes: ["axis": .int(1)],
        inputs: [r.tensor([samples, 2, 3]), r.tensor([2, 3]), r.tensor([3])]),
    ]
  }

  static func context(_ c: Case, _ inputs: [Tensor]) -> OperatorContext {
    let node = Node(
      name: c.op, opType: c.op, domain: "", inputs: inputs.indices.map { "x\($0)" }, outputs: ["y"],
      attributes: c.attributes)
    return OperatorContext(node: node, opset: 17, inputs: inputs)
  }

  @Test(arguments: cases)
  func eachSampleGetsItsOwnWeightGradients(_ c: Case) throws {
    let definition = try OperatorRegistry.definition(for: Self.context(c, c.inputs).node, opset: 17)
    let batched = Self.context(c, c.inputs)
    let y = try definition.forward(batched)[0]
    var numbers = OperatorGradientTests.Numbers(state: 4)
    let gradient = numbers.tensor([Self.rows] + y.shape)
    let needs = [Bool](repeating: true, count: c.inputs.count)
    let weights = c.inputs.indices.map { $0 > 0 }
    let together = try #require(
      try definition.batchedWeightsBackward?(
        batched, [y], [gradient], needs, weights, Self.rows, Self.samples))

    for b in 0..<Self.samples {
      let inputs = try [c.inputs[0].sample(b, of: Self.samples)] + c.inputs.dropFirst()
      let alone = Self.context(c, inputs)
      let own = try definition.forward(alone)[0]
      let ownGradient = try gradient.stackedSample(b, of: Self.samples, rows: Self.rows)
      let expected = try definition.reverse(alone, [own], [ownGradient], needs, rows: Self.rows)
      for slot in 1..<c.inputs.count {
        let want = try #require(expected[slot]).floats("alone")
        let all = try #require(together[slot]).floats("batched")
        #expect(all.count == Self.samples * want.count)
        let mine = all[(b * want.count)..<((b + 1) * want.count)]
        for (got, value) in zip(mine, want) { #expect(abs(got - value) <= 1e-5 * (1 + abs(value))) }
      }
      // The samples' own input's gradient stays one batch-shaped tensor.
      let input = try #require(together[0]).stackedSample(b, of: Self.samples, rows: Self.rows).floats("batched")
      let inputWant = try #require(expected[0]).floats("alone")
      for (got, value) in zip(input, inputWant) { #expect(abs(got - value) <= 1e-5 * (1 + abs(value))) }
    }
  }

  /// A per-channel weight [4, 1] is not a trailing block of each sample: the operator declines
  /// and the interpreter reverses each sample alone.
  @Test func weightThatDoesNotRepeatPerSampleIsDeclined() throws {
    var r = OperatorGradientTests.Numbers(state: 2)
    let c = Case(op: "Mul", inputs: [r.tensor([Self.samples, 4, 5]), r.tensor([4, 1])])
    let context = Self.context(c, c.inputs)
    let definition = try OperatorRegistry.definition(for: context.node, opset: 17)
    let y = try definition.forward(context)[0]
    let result = try definition.batchedWeightsBackward?(
      context, [y], [r.tensor([1] + y.shape)], [true, true], [false, true], 1, Self.samples)
    #expect(result == nil)
  }
}
