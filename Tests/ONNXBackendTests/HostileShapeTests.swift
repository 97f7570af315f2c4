import Testing

@testable import ONNXBackend

/// Shapes a model reads from its own tensors or attributes are untrusted: absurd ones must
/// give an error, never an overflow trap or a giant allocation that kills the host.
struct HostileShapeTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var op: String
    var inputs: [Tensor]
    var attributes: [String: Attribute] = [:]
    var testDescription: String { op }
  }

  static let huge = Int64(1) << 40
  static let cases: [Case] = [
    Case(op: "ConstantOfShape", inputs: [Tensor(shape: [2], ints: [huge, huge])]),
    Case(op: "Reshape", inputs: [Tensor.zeros([4]), Tensor(shape: [3], ints: [huge, huge, 0])]),
    Case(op: "Expand", inputs: [Tensor.zeros([1]), Tensor(shape: [2], ints: [huge, huge])]),
    Case(op: "Tile", inputs: [Tensor.zeros([2, 2]), Tensor(shape: [2], ints: [huge, huge])]),
    Case(op: "Pad", inputs: [Tensor.zeros([2]), Tensor(shape: [2], ints: [huge, huge])]),
    Case(
      op: "Range",
      inputs: [Tensor(shape: [], floats: [0]), Tensor(shape: [], floats: [.infinity]), Tensor(shape: [], floats: [1])]),
    Case(
      op: "Range",
      inputs: [Tensor(shape: [], ints: [.min]), Tensor(shape: [], ints: [.max]), Tensor(shape: [], ints: [1])]),
    Case(op: "ArgMax", inputs: [Tensor.zeros([0, 3])]),
    Case(op: "Split", inputs: [Tensor.zeros([4]), Tensor(shape: [2], ints: [.max, .max])]),
    Case(
      op: "MaxPool", inputs: [Tensor.zeros([1, 1, 4, 4])],
      attributes: ["kernel_shape": .ints([2, 2]), "pads": .ints([.max, 0, 0, 0])]),
    Case(
      op: "Conv", inputs: [Tensor.zeros([1, 1, 4, 4]), Tensor.zeros([1, 1, 2, 2])],
      attributes: ["strides": .ints([.max, 1])]),
  ]

  @Test(arguments: cases)
  func absurdShapesAreErrors(_ c: Case) throws {
    let names = c.inputs.indices.map { "x\($0)" }
    let node = Node(name: "hostile", opType: c.op, domain: "", inputs: names, outputs: ["y"], attributes: c.attributes)
    let graph = Graph(
      nodes: [node], initializerNames: names, initializers: Dictionary(uniqueKeysWithValues: zip(names, c.inputs)),
      inputs: [], outputs: [ValueInfo(name: "y", elementType: 1, shape: nil, isTensor: true)], opset: 17)
    let interpreter = try Interpreter(graph: graph)
    #expect(throws: ONNXError.self) { try interpreter.run(graph.initializers) }
  }
}
