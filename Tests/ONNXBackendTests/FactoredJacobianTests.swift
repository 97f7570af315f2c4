import ArrayIO
import CEntkABI
import EntkTestSupport
import Testing

@testable import ONNXBackend

/// `factoredJacobian` (ABI 1.1 `factored_jacobian`) against `jacobian` (itself checked against
/// PyTorch in TorchFixtureTests): the plain block plus every factored group's columns rebuilt as
/// Δ_c[o]·a[j] at π(o, j) give the Jacobian row, and exactly the dense layers applied once to
/// one row factor.
///
/// Tolerance |rebuilt − jacobian| ≤ 1e-6·max|jacobian row|: one float32 product per entry on
/// either side, the scale applied in a different order.
struct FactoredJacobianTests {
  /// Where a factored group's parameter (o, j) lives, as the model file lays out the weight.
  enum Layout: Sendable {
    /// π(o, j) = o·I + j: a weight stored [O, I] (Gemm transB = 1), or a bias (I = 1).
    case outputMajor
    /// π(o, j) = j·O + o: a weight stored [I, O] (Gemm transB = 0, MatMul).
    case inputMajor
  }

  /// Checks `model`'s factored rows on `inputs` (n samples) and that exactly the groups in
  /// `factored` factor, with those layouts.
  static func check(_ model: ONNXModel, _ inputs: [Float], n: Int, factored: [String: Layout]) throws {
    #expect(
      Set(zip(model.parameterNames, model.factors).compactMap { $1 == nil ? nil : $0 }) == Set(factored.keys),
      "factored groups")
    let c = model.outputCount
    let p = model.parameterCount
    let s = model.factoredRowSize
    var jacobian = [Float](repeating: 0, count: n * c * p)
    var rows = [Float](repeating: .nan, count: n * s)
    try inputs.withUnsafeBufferPointer { x in
      try jacobian.withUnsafeMutableBufferPointer { try model.jacobian(x, count: n, jacobians: $0) }
      try rows.withUnsafeMutableBufferPointer { try model.factoredJacobian(x, count: n, rows: $0) }
    }
    let groups = (0..<model.parameterNames.count).compactMap { model.parameterGroup($0) }
    var plainCount = 0
    for (group, factor) in zip(groups, model.factors) where factor == nil { plainCount += group.count }
    #expect(s == c * plainCount + model.factors.reduce(0) { $0 + ($1.map { $0.inputDim + c * $0.outputDim } ?? 0) })
    var layouts: [Layout?] = []
    for (group, factor) in zip(groups, model.factors) {
      guard let factor else {
        layouts.append(nil)
        continue
      }
      #expect(factor.inputDim * factor.outputDim == group.count, "\(group.name): I·O")
      layouts.append(try #require(factored[group.name], "\(group.name) factored unexpectedly"))
    }
    let all = FactorSlots.jacobian(
      fromFactored: rows, count: n, classes: c, groups: groups.map { ($0.offset, $0.count) },
      factors: model.factors.map {
        $0.map { FactorSlots.Factor(factored: true, inputDim: $0.inputDim, outputDim: $0.outputDim) } ?? .plain
      }
    ) { g, o, j in
      let (inputs, outputs) = (model.factors[g]?.inputDim ?? 0, model.factors[g]?.outputDim ?? 0)
      return layouts[g] == .outputMajor ? o * inputs + j : j * outputs + o
    }

    for i in 0..<n {
      let rebuilt = all[(i * c * p)..<((i + 1) * c * p)]
      let expected = jacobian[(i * c * p)..<((i + 1) * c * p)]
      let scale = expected.reduce(0) { max($0, abs($1)) }
      #expect(scale > 0)
      var worst: (Int, Float, Float)? = nil
      for (q, (got, want)) in zip(rebuilt, expected).enumerated() where !(abs(got - want) <= 1e-6 * scale) {
        worst = worst ?? (q, got, want)
      }
      if let (q, got, want) = worst {
        Issue.record("sample \(i), class \(q / p), parameter \(q % p): rebuilt \(got), jacobian \(want)")
      }
    }
  }

  @Test func digitsCNNFactorsItsDenseLayersAndRebuildsTheJacobian() throws {
    let digits = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits")
    let model = try ONNXModel(path: digits.appendingPathComponent("cnn.onnx").path)
    let n = 6
    let x = try NPYFile.read(digits.appendingPathComponent("test_x.npy")).float32Values()
    try Self.check(
      model, Array(x.prefix(n * model.inputSize)), n: n,
      factored: [
        "fc1.weight": .outputMajor, "fc1.bias": .outputMajor, "fc2.weight": .outputMajor, "fc2.bias": .outputMajor,
      ])
    #expect(
      model.factors[4]
        == GroupFactor(
          input: .value("/Flatten_output_0", scale: 1), inputDim: 128, outputDim: 64, delta: "/fc1/Gemm_output_0"))
  }

  @Test(arguments: ["legacy", "dynamo"])
  func mlpFixtureFactorsEveryGroup(_ exporter: String) throws {
    let model = try ONNXModel(path: TestEnvironment.fixture("onnx/mlp-\(exporter).onnx").path)
    let x = try NPYFile.read(TestEnvironment.fixture("onnx/mlp-inputs.npy"))
    let names = ["body.1", "body.3", "head"].flatMap { ["\($0).weight", "\($0).bias"] }
    try Self.check(
      model, x.float32Values(), n: x.shape[0],
      factored: Dictionary(uniqueKeysWithValues: names.map { ($0, Layout.outputMajor) }))
  }

  // MARK: Small graphs built here

  static func graph(
    _ nodes: [Node], _ initializers: [(String, Tensor)], input: [Int?], output: String = "logits"
  ) -> Graph {
    Graph(
      nodes: nodes, initializerNames: initializers.map(\.0),
      initializers: Dictionary(uniqueKeysWithValues: initializers),
      inputs: [ValueInfo(name: "x", elementType: 1, shape: input, isTensor: true)],
      outputs: [ValueInfo(name: output, elementType: 1, shape: nil, isTensor: true)], opset: 17)
  }

  static func node(_ op: String, _ inputs: [String], _ output: String, _ attributes: [String: Attribute] = [:]) -> Node
  {
    Node(name: output, opType: op, domain: "", inputs: inputs, outputs: [output], attributes: attributes)
  }

  static func inputs(_ model: ONNXModel, n: Int) -> [Float] {
    var numbers = OperatorGradientTests.Numbers(state: 7)
    return (try? numbers.tensor([n * model.inputSize]).floats("x")) ?? []
  }

  /// MatMul + Add, then a Gemm with transB = 0, alpha and beta ≠ 1 and C of shape [1, N].
  @Test func matMulWithAddAndScaledGemmFactor() throws {
    var r = OperatorGradientTests.Numbers(state: 3)
    let graph = Self.graph(
      [
        Self.node("MatMul", ["x", "w1"], "y1"), Self.node("Add", ["b1", "y1"], "s1"), Self.node("Tanh", ["s1"], "h"),
        Self.node("Gemm", ["h", "w2", "c2"], "logits", ["alpha": .float(0.5), "beta": .float(2)]),
      ], [("w1", r.tensor([6, 5])), ("b1", r.tensor([5])), ("w2", r.tensor([5, 4])), ("c2", r.tensor([1, 4]))],
      input: [nil, 6])
    let model = try ONNXModel(graph: graph, path: "matmul-gemm")
    try Self.check(
      model, Self.inputs(model, n: 3), n: 3,
      factored: ["w1": .inputMajor, "b1": .outputMajor, "w2": .inputMajor, "c2": .outputMajor])
    #expect(model.factors[2]?.input == .value("h", scale: 0.5))
    #expect(model.factors[3]?.input == .constant(2))
  }

  /// A weight read by two Gemms, and a bias broadcast from [1], stay plain; the rest factors.
  @Test func sharedWeightAndBroadcastBiasStayPlain() throws {
    var r = OperatorGradientTests.Numbers(state: 5)
    let graph = Self.graph(
      [
        Self.node("Gemm", ["x", "w", "b1"], "y1", ["transB": .int(1)]), Self.node("Relu", ["y1"], "h"),
        Self.node("Gemm", ["h", "w", "b2"], "y2"), Self.node("Gemm", ["y2", "head", "hb"], "logits"),
      ],
      [
        ("w", r.tensor([4, 4])), ("b1", r.tensor([4])), ("b2", r.tensor([1])), ("head", r.tensor([4, 3])),
        ("hb", r.tensor([3])),
      ],
      input: [nil, 4])
    let model = try ONNXModel(graph: graph, path: "shared")
    try Self.check(
      model, Self.inputs(model, n: 3), n: 3, factored: ["b1": .outputMajor, "head": .inputMajor, "hb": .outputMajor])
  }

  /// A Gemm and a MatMul whose A holds two rows per sample (M = 2) stay plain.
  @Test func layersOverSeveralRowsStayPlain() throws {
    var r = OperatorGradientTests.Numbers(state: 9)
    let graph = Self.graph(
      [
        Self.node("Reshape", ["x", "rows"], "a"), Self.node("Gemm", ["a", "w", "c"], "y"),
        Self.node("MatMul", ["a", "v"], "z"), Self.node("Add", ["z", "d"], "s"), Self.node("Add", ["y", "s"], "t"),
        Self.node("Reshape", ["t", "flat"], "logits"),
      ],
      [
        ("w", r.tensor([3, 4])), ("c", r.tensor([4])), ("v", r.tensor([3, 4])), ("d", r.tensor([4])),
        ("rows", Tensor(shape: [2], ints: [2, 3])), ("flat", Tensor(shape: [2], ints: [1, 8])),
      ], input: [nil, 2, 3])
    let model = try ONNXModel(graph: graph, path: "rows")
    #expect(model.parameterNames == ["w", "c", "v", "d"])
    try Self.check(model, Self.inputs(model, n: 3), n: 3, factored: [:])
  }

  // MARK: Through the C table

  /// The NUL-terminated message in an error buffer.
  static func message(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Opens examples/digits/cnn.onnx through the table; the caller closes it.
  static func openDigits(_ api: entk_backend_api) throws -> OpaquePointer {
    let path = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/cnn.onnx").path
    var model: OpaquePointer? = nil
    #expect(api.open(path, nil, &model, nil, 0) == ENTK_OK)
    return try #require(model)
  }

  @Test func tableAnswersGroupFactorAndRejectsBadArguments() throws {
    let api = try #require(entkBackendV1()).pointee
    let groupFactor = try #require(api.group_factor)
    let model = try Self.openDigits(api)
    defer { api.close(model) }
    var error = [CChar](repeating: 0, count: 256)
    var answers: [(Int32, Int64, Int64)] = []
    for index in 0..<8 {
      var factor = entk_group_factor()
      factor.struct_size = MemoryLayout<entk_group_factor>.size
      #expect(groupFactor(model, Int64(index), &factor, &error, error.count) == ENTK_OK)
      answers.append((factor.factored, factor.input_dim, factor.output_dim))
    }
    let expected: [(Int32, Int64, Int64)] = [
      (0, 0, 0), (0, 0, 0), (0, 0, 0), (0, 0, 0), (1, 128, 64), (1, 1, 64), (1, 64, 10), (1, 1, 10),
    ]
    #expect(answers.map { [Int64($0.0), $0.1, $0.2] } == expected.map { [Int64($0.0), $0.1, $0.2] })

    for index: Int64 in [-1, 8] {
      var factor = entk_group_factor()
      factor.struct_size = MemoryLayout<entk_group_factor>.size
      #expect(groupFactor(model, index, &factor, &error, error.count) == ENTK_STATUS_INVALID_ARGUMENT)
      #expect(Self.message(error).contains("out of range"))
    }
    var small = entk_group_factor()
    small.struct_size = MemoryLayout<Int>.size
    #expect(groupFactor(model, 0, &small, &error, error.count) == ENTK_STATUS_INVALID_ARGUMENT)
    #expect(Self.message(error).contains("struct_size"))
  }

  @Test func tableFactoredJacobianMatchesTheModelAndRejectsBadCounts() throws {
    let api = try #require(entkBackendV1()).pointee
    let factoredJacobian = try #require(api.factored_jacobian)
    let model = try Self.openDigits(api)
    defer { api.close(model) }
    let reference = try ONNXModel(
      path: TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/cnn.onnx").path)
    let n = 2
    let x = Self.inputs(reference, n: n)
    var viaTable = [Float](repeating: .nan, count: n * reference.factoredRowSize)
    var direct = viaTable
    var error = [CChar](repeating: 0, count: 256)
    #expect(factoredJacobian(model, x, Int64(n), &viaTable, &error, error.count) == ENTK_OK)
    try x.withUnsafeBufferPointer { input in
      try direct.withUnsafeMutableBufferPointer { try reference.factoredJacobian(input, count: n, rows: $0) }
    }
    #expect(viaTable == direct)
    for bad: Int64 in [0, -3] {
      #expect(factoredJacobian(model, x, bad, &viaTable, &error, error.count) == ENTK_STATUS_INVALID_ARGUMENT)
      #expect(Self.message(error).contains("n must be"))
    }
  }
}
