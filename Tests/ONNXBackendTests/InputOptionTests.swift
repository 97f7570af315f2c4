import CEntkABI
import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// How a model's inputs get their per-sample shapes (the `dims` and `shapes` options) and element
/// types, and the errors for what is missing or wrong.
struct InputOptionTests {
  static var bert: String { TestEnvironment.fixture("onnx/bert-legacy14.onnx").path }

  static func openFailure(_ path: String, _ options: String?) -> ONNXError? {
    do {
      _ = try ONNXModel(path: path, options: ModelOptions(json: options))
      return nil
    } catch {
      return error
    }
  }

  @Test func anUnfixedSymbolicDimensionNamesTheOptionThatFixesIt() throws {
    let error = try #require(Self.openFailure(Self.bert, nil))
    #expect(error.status == ENTK_STATUS_INVALID_ARGUMENT)
    #expect(error.description.contains("input 'input_ids' [batch, sequence] has the symbolic dimension 'sequence'"))
    #expect(error.description.contains(#"{"dims": {"sequence": N}}"#), "\(error)")
  }

  /// `shapes` gives each input's shape by name; a longer `sequence` pads the same sentences
  /// further, which the attention mask hides (logits equal to float32 rounding).
  @Test func shapesAndLongerDimsGiveTheSameLogits() throws {
    let (inputs, n) = try TextFixtureTests.inputs(InputSlotTests.bertCase)
    let byDims = try InputSlots(path: Self.bert, options: TextFixtureTests.options)
    let byShapes = try InputSlots(
      path: Self.bert, options: #"{"shapes": {"input_ids": [8], "attention_mask": [8], "token_type_ids": [8]}}"#)
    let reference = try byDims.forward(inputs.map { .int64($0) }, count: n)
    #expect(try byShapes.forward(inputs.map { .int64($0) }, count: n) == reference)

    let longer = try InputSlots(path: Self.bert, options: #"{"dims": {"sequence": 12}}"#)
    #expect(try longer.inputInfo(0).shape.0 == 12)
    let padded = inputs.map { values -> [Int64] in
      (0..<n).flatMap { i -> [Int64] in Array(values[(i * 8)..<((i + 1) * 8)]) + [0, 0, 0, 0] }
    }
    let logits = try longer.forward(padded.map { .int64($0) }, count: n)
    #expect(FactorSlots.relativeDifference(logits, reference) <= 1e-5, "\(logits) vs \(reference)")
  }

  @Test(arguments: [
    (#"{"dims": {"seq": 8}}"#, "'seq', which is no symbolic dimension of an input"),
    (#"{"dims": {"sequence": 0}}"#, "option 'dims': 'sequence' must be a whole number"),
    (#"{"dims": {"sequence": 1.5}}"#, "option 'dims': 'sequence' must be a whole number"),
    (#"{"dims": {"sequence": true}}"#, "option 'dims': 'sequence' must be a whole number"),
    (#"{"dims": {"sequence": "8"}}"#, "option 'dims': 'sequence' must be a whole number"),
    (#"{"dims": {"sequence": 16777217}}"#, "must be a whole number from 1 to 16777216"),
    (#"{"dims": {}}"#, "option 'dims' must be a non-empty object"),
    (#"{"shapes": {"ids": [8]}}"#, "'ids', which is not an input"),
    (#"{"shapes": {"input_ids": [8, 2]}}"#, "option 'shapes': 'input_ids' is [8, 2]"),
    (#"{"shapes": {"input_ids": []}}"#, "must be a non-empty array"),
  ])
  func badShapeOptionsAreRefused(_ options: String, _ message: String) throws {
    let error = try #require(Self.openFailure(Self.bert, options))
    #expect(error.status == ENTK_STATUS_INVALID_ARGUMENT)
    #expect(error.description.contains(message), "\(error)")
  }

  /// RoBERTa's position ids run to sequence + 1: a sequence longer than its position table fails
  /// at open, in the Gather that reads the table.
  @Test func aSequenceLongerThanThePositionTableFailsAtOpen() throws {
    let path = TestEnvironment.fixture("onnx/roberta-legacy14.onnx").path
    let error = try #require(Self.openFailure(path, #"{"dims": {"sequence": 31}}"#))
    #expect(error.status == ENTK_STATUS_INVALID_ARGUMENT)
    #expect(error.description.contains("Gather") && error.description.contains("out of range"), "\(error)")
    #expect(Self.openFailure(path, #"{"dims": {"sequence": 30}}"#) == nil)
  }

  /// A graph of a float32, a bool and an int32 input:
  /// logits = Where(keep, x, 0) · W + Σ_k E[ids_k], each fed as given.
  static func typedGraph() -> Graph {
    let w = Tensor(shape: [3, 2], floats: [1, 2, 3, 4, 5, 6])
    let e = Tensor(shape: [4, 2], floats: [0.5, -1, 2, 0.25, -3, 1, 10, 20])
    func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [String: Attribute] = [:]) -> Node {
      Node(name: output, opType: op, domain: "", inputs: inputs, outputs: [output], attributes: attributes)
    }
    return Graph(
      nodes: [
        node("Where", ["keep", "x", "zero"], "kept"), node("MatMul", ["kept", "w"], "dense"),
        node("Gather", ["e", "ids"], "rows"), node("ReduceSum", ["rows", "axes"], "bag", ["keepdims": .int(0)]),
        node("Add", ["dense", "bag"], "logits"),
      ],
      initializerNames: ["w", "e", "zero", "axes"],
      initializers: [
        "w": w, "e": e, "zero": Tensor(shape: [], floats: [0]), "axes": Tensor(shape: [1], ints: [1]),
      ],
      inputs: [
        ValueInfo(name: "x", elementType: 1, shape: [nil, 3], isTensor: true),
        ValueInfo(name: "keep", elementType: 9, shape: [nil, 3], isTensor: true),
        ValueInfo(name: "ids", elementType: 6, shape: [nil, 2], isTensor: true),
      ],
      outputs: [ValueInfo(name: "logits", elementType: 1, shape: nil, isTensor: true)], opset: 13)
  }

  @Test func boolAndInt32InputsAreFedAsGivenAndChecked() throws {
    let model = try ONNXModel(graph: Self.typedGraph(), path: "typed")
    #expect(model.inputs.map(\.summary) == ["x (float [3])", "keep (bool [3])", "ids (int32 [2])"])
    #expect(model.inputs[2].indexRange?.count == 4)
    let x: [Float] = [1, 2, 3, -1, 0.5, 2]
    let keep: [UInt8] = [1, 0, 1, 0, 1, 1]
    let ids: [Int32] = [0, 3, 2, 2]
    // Sample 0: kept (1, 0, 3) · W = (16, 20); E[0] + E[3] = (10.5, 19). Sample 1: kept (0, 0.5, 2)
    // · W = (11.5, 14); 2·E[2] = (-6, 2).
    let expected: [Float] = [26.5, 39, 5.5, 16]
    var logits = [Float](repeating: .nan, count: 4)
    try InputSlots.withPointers([.float32(x), .bool(keep), .int32(ids)]) { pointers in
      try logits.withUnsafeMutableBufferPointer { try model.forward(pointers, count: 2, logits: $0, embedding: nil) }
    }
    #expect(logits == expected)

    for (buffers, message) in [
      (
        [InputSlots.Buffer.float32(x), .bool([1, 0, 2, 0, 1, 1]), .int32(ids)],
        "input 'keep', sample 0, position 2: value 2"
      ),
      ([.float32(x), .bool(keep), .int32([0, 3, 2, 4])], "input 'ids', sample 1, position 1: value 4"),
      ([.float32(x), .bool(keep), .int32([0, -1, 2, 2])], "input 'ids', sample 0, position 1: value -1"),
    ] {
      #expect {
        try InputSlots.withPointers(buffers) { pointers in
          try logits.withUnsafeMutableBufferPointer {
            try model.forward(pointers, count: 2, logits: $0, embedding: nil)
          }
        }
      } throws: { error in
        (error as? ONNXError)?.status == ENTK_STATUS_INVALID_ARGUMENT && "\(error)".contains(message)
      }
    }
  }

  @Test func inputTypesTheABICannotFeedAreUnsupported() throws {
    var graph = Self.typedGraph()
    graph.inputs[0].elementType = 11
    var failure: ONNXError? = nil
    do {
      _ = try ONNXModel(graph: graph, path: "double-input")
    } catch {
      failure = error
    }
    let error = try #require(failure)
    #expect(error.status == ENTK_STATUS_UNIMPLEMENTED)
    #expect(error.description.contains("input 'x' has element type double"), "\(error)")
  }

  /// logits = Flatten(x) · W for an input whose samples have `rank` dimensions, all 1 but the
  /// last, 2.
  static func flattenGraph(rank: Int) -> Graph {
    Graph(
      nodes: [
        Node(name: "flat", opType: "Flatten", domain: "", inputs: ["x"], outputs: ["flat"], attributes: [:]),
        Node(
          name: "logits", opType: "MatMul", domain: "", inputs: ["flat", "w"], outputs: ["logits"], attributes: [:]),
      ],
      initializerNames: ["w"], initializers: ["w": Tensor(shape: [2, 2], floats: [1, 2, 3, 4])],
      inputs: [
        ValueInfo(
          name: "x", elementType: 1,
          shape: [nil] + [Int?](repeating: 1, count: max(rank - 1, 0)) + (rank > 0 ? [2] : []),
          isTensor: true)
      ],
      outputs: [ValueInfo(name: "logits", elementType: 1, shape: nil, isTensor: true)], opset: 13)
  }

  /// The ABI's `entk_input_info.shape` has ENTK_MAX_INPUT_RANK slots: an input of that many
  /// dimensions per sample runs, one more is refused at open, naming the input, its rank and the
  /// limit, and so is an input with no dimension besides the batch.
  @Test func anInputRankBeyondTheABIsShapeSlotsIsRefusedByName() throws {
    let limit = Int(ENTK_MAX_INPUT_RANK)
    let model = try ONNXModel(graph: Self.flattenGraph(rank: limit), path: "rank-\(limit)")
    #expect(model.inputs[0].shape == [Int](repeating: 1, count: limit - 1) + [2])
    // (3, -1) · [[1, 2], [3, 4]] = (0, 2); (0.5, 2) · W = (6.5, 9).
    var logits = [Float](repeating: .nan, count: 4)
    try InputSlots.withPointers([.float32([3, -1, 0.5, 2])]) { pointers in
      try logits.withUnsafeMutableBufferPointer { try model.forward(pointers, count: 2, logits: $0, embedding: nil) }
    }
    #expect(logits == [0, 2, 6.5, 9])

    for (rank, message) in [
      (limit + 1, "input 'x' [?, 1, 1, 1, 1, 1, 1, 1, 1, 2] has 9 dimensions per sample; the ABI describes at most 8"),
      (0, "input 'x' must have a batch dimension and at least one per-sample dimension, got [?]"),
    ] {
      var failure: ONNXError? = nil
      do {
        _ = try ONNXModel(graph: Self.flattenGraph(rank: rank), path: "rank-\(rank)")
      } catch {
        failure = error
      }
      let error = try #require(failure)
      #expect(error.status == ENTK_STATUS_UNIMPLEMENTED)
      #expect(error.description.contains(message), "\(error)")
    }
  }
}
