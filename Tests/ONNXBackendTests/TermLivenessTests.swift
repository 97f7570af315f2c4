import Testing

@testable import ONNXBackend

/// A token sum keeps only the rows that can reach the logits (`TermLiveness`), and its kept rows
/// still rebuild the Jacobian (`FactoredJacobianTests.check`, against `jacobian`).
struct TermLivenessTests {
  typealias Fixture = FactoredJacobianTests

  /// x [n, 3, 8] → z = x·v [n, 3, 8] → `between` → row `index` of z → Gemm → 2 logits.
  static func model(between: [Node] = [], last: String = "z", index: Int64 = 0, extra: [(String, Tensor)] = [])
    throws -> ONNXModel
  {
    var r = OperatorGradientTests.Numbers(state: 11)
    let graph = Fixture.graph(
      [Fixture.node("MatMul", ["x", "v"], "z")] + between + [
        Fixture.node("Gather", [last, "first"], "h", ["axis": .int(1)]), Fixture.node("Gemm", ["h", "w"], "logits"),
      ],
      [("v", r.tensor([8, 8])), ("w", r.tensor([8, 2])), ("first", Tensor(shape: [], ints: [index]))] + extra,
      input: [nil, 3, 8])
    return try ONNXModel(graph: graph, path: "liveness")
  }

  @Test func aSumReadAtOnePositionKeepsThatRow() throws {
    for index in [0, 2, -1] as [Int64] {
      let model = try Self.model(index: index)
      let factor = try #require(model.factors[0])
      #expect(factor.terms == 1 && factor.kept == GroupFactor.KeptRows(rows: [index < 0 ? 2 : Int(index)], total: 3))
      try Fixture.check(model, Fixture.inputs(model, n: 3), n: 3, factored: ["v": .inputMajor, "w": .inputMajor])
    }
  }

  /// Where and Relu route by the data: the probe sends everything through them.
  ///
  /// A Where of one input the sums reach sends it every gradient; Relu reads an input of ones.
  @Test func reluAndWhereOfOneBranchStillFindTheRow() throws {
    let model = try Self.model(
      between: [
        Fixture.node("Relu", ["z"], "r"), Fixture.node("Greater", ["x", "zero"], "positive"),
        Fixture.node("Cast", ["positive"], "positive_f", ["to": .int(1)]),
        Fixture.node("ReduceMax", ["positive_f"], "any", ["axes": .ints([2]), "keepdims": .int(1)]),
        Fixture.node("Greater", ["any", "zero"], "mask"), Fixture.node("Where", ["mask", "r", "zero"], "m"),
      ], last: "m", extra: [("zero", Tensor(shape: [], floats: [0]))])
    #expect(model.factors[0]?.kept == GroupFactor.KeptRows(rows: [0], total: 3))
    try Fixture.check(model, Fixture.inputs(model, n: 3), n: 3, factored: ["v": .inputMajor, "w": .inputMajor])
  }

  /// The kept rows of each class are packed; a dropped row that is not zero is an error naming
  /// the value and the row, not a wrong kernel.
  @Test func keptRowsArePackedAndADroppedNonzeroRowIsRefused() throws {
    let kept = GroupFactor.KeptRows(rows: [1], total: 3)
    // Two classes of three rows of two floats; only row 1 is nonzero.
    var whole: [Float] = [0, 0, 1, 2, 0, 0, 0, 0, 3, 4, 0, 0]
    var packed = [Float](repeating: .nan, count: 4)
    try whole.withUnsafeBufferPointer { whole in
      try packed.withUnsafeMutableBufferPointer { packed in
        try ONNXModel.keepRows(
          kept, of: try #require(whole.baseAddress), classes: 2, width: 2, into: try #require(packed.baseAddress),
          delta: "d", path: "m.onnx")
      }
    }
    #expect(packed == [1, 2, 3, 4])
    whole[10] = 1e-30
    #expect {
      try whole.withUnsafeBufferPointer { whole in
        try packed.withUnsafeMutableBufferPointer { packed in
          try ONNXModel.keepRows(
            kept, of: try #require(whole.baseAddress), classes: 2, width: 2, into: try #require(packed.baseAddress),
            delta: "d", path: "m.onnx")
        }
      }
    } throws: { error in
      "\(error)".contains("'d'") && "\(error)".contains("row 2")
    }
  }

  /// Max routes by the data and both of a Where's inputs reach the sum: every row is kept.
  @Test func routingOperatorsKeepEveryRow() throws {
    let max = try Self.model(
      between: [Fixture.node("Max", ["z", "zero"], "m")], last: "m", extra: [("zero", Tensor(shape: [], floats: [0]))])
    #expect(max.factors[0]?.terms == 3 && max.factors[0]?.kept == nil)
    let both = try Self.model(
      between: [
        Fixture.node("Greater", ["z", "zero"], "mask"), Fixture.node("Neg", ["z"], "n"),
        Fixture.node("Where", ["mask", "z", "n"], "m"),
      ], last: "m", extra: [("zero", Tensor(shape: [], floats: [0]))])
    #expect(both.factors[0]?.terms == 3 && both.factors[0]?.kept == nil)
    try Fixture.check(both, Fixture.inputs(both, n: 3), n: 3, factored: ["v": .inputMajor, "w": .inputMajor])
  }
}
