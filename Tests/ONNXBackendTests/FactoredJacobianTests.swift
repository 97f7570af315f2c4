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
    let s = model.factoredRowSize()
    var jacobian = [Float](repeating: 0, count: n * c * p)
    var rows = [Float](repeating: .nan, count: n * s)
    try inputs.withUnsafeBufferPointer { x in
      try jacobian.withUnsafeMutableBufferPointer { try model.jacobian(x, count: n, jacobians: $0) }
      try rows.withUnsafeMutableBufferPointer { try model.factoredJacobian(x, count: n, rows: $0) }
    }
    let groups = (0..<model.parameterNames.count).compactMap { model.parameterGroup($0) }
    var plainCount = 0
    for (group, factor) in zip(groups, model.factors) where factor == nil { plainCount += group.count }
    #expect(
      s == c * plainCount
        + model.factors.reduce(0) { $0 + ($1.map { $0.terms * ($0.inputDim + c * $0.outputDim) } ?? 0) })
    var layouts: [Layout?] = []
    for (group, factor) in zip(groups, model.factors) {
      guard let factor else {
        layouts.append(nil)
        continue
      }
      #expect(factor.inputDim * factor.outputDim == group.count, "\(group.name): I·O")
      let layout: Layout = try #require(factored[group.name], "\(group.name) factored unexpectedly")
      layouts.append(layout)
    }
    let all = FactorSlots.jacobian(
      fromFactored: rows, count: n, classes: c, groups: groups.map { ($0.offset, $0.count) },
      factors: model.factors.map {
        $0.map { FactorSlots.Factor(factored: true, inputDim: $0.inputDim, outputDim: $0.outputDim, terms: $0.terms) }
          ?? .plain
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
      model, Array(x.prefix(n * model.inputs[0].size)), n: n,
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

  /// Every form the exporters give nn.Linear factors.
  ///
  /// tools/fixtures/export_onnx_fixtures.py, models "dense" and "token": legacy Gemm
  /// (transB = 1) with C, Transpose + MatMul without a bias, Transpose + MatMul + Add(bias, Y) on
  /// a token; dynamo Gemm without C, and MatMul on a pre-transposed initializer + Add(Y, bias).
  /// Each weight factors with π from its stored layout: [O, I] is output-major, [I, O]
  /// input-major (the sizes 64, 16, 12, 10 differ, so the shape tells which).
  @Test(arguments: ["dense", "token"], ["legacy", "dynamo"])
  func exportedDenseLayersFactorInEveryForm(_ name: String, _ exporter: String) throws {
    let model = try ONNXModel(path: TestEnvironment.fixture("onnx/\(name)-\(exporter).onnx").path)
    // The forms each file holds: (Gemm, MatMul, Transpose, Add) nodes.
    let forms = [
      "dense-legacy": [1, 2, 2, 0], "dense-dynamo": [3, 0, 0, 0], "token-legacy": [0, 3, 3, 2],
      "token-dynamo": [0, 3, 0, 2],
    ]
    let nodes = model.interpreter.graph.nodes
    #expect(
      ["Gemm", "MatMul", "Transpose", "Add"].map { op in nodes.filter { $0.opType == op }.count }
        == forms["\(name)-\(exporter)"])
    let x = try NPYFile.read(TestEnvironment.fixture("onnx/\(name)-inputs.npy"))
    var layouts: [String: Layout] = [:]
    for (g, name) in model.parameterNames.enumerated() {
      let shape = try #require(model.initializers[name]?.shape)
      let factor = try #require(model.factors[g], "\(name) \(shape) does not factor: \(model.plainReasons[g] ?? "")")
      layouts[name] = shape == [factor.inputDim, factor.outputDim] && shape.count == 2 ? .inputMajor : .outputMajor
    }
    // fc1, fc2 and the head's weights, fc2's bias, and on a token the head's bias.
    #expect(model.parameterNames.count == (name == "token" ? 5 : 4))
    #expect(model.plainReasons.allSatisfy { $0 == nil })
    try Self.check(model, x.float32Values(), n: x.shape[0], factored: layouts)
  }

  /// Names and reasons of the groups that stay plain.
  static func reasons(_ model: ONNXModel) -> [String: String] {
    var reasons: [String: String] = [:]
    for (name, reason) in zip(model.parameterNames, model.plainReasons) { reasons[name] = reason }
    return reasons
  }

  @Test func convolutionsAndBatchedMatMulsSayWhyTheyStayPlain() throws {
    // The digits CNN: 8×8 inputs, conv1 (3×3, padding 1) at 8·8 positions, 2×2 pooling, conv2
    // at 4·4.
    let digits = try ONNXModel(
      path: TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/cnn.onnx").path)
    #expect(
      Self.reasons(digits) == [
        "conv1.weight":
          "Conv '/conv1/Conv' applies it at 64 positions: whole columns cost less than a sum of 64 patch terms",
        "conv1.bias": "Conv '/conv1/Conv' applies it at 64 positions",
        "conv2.weight":
          "Conv '/conv2/Conv' applies it at 16 positions: whole columns cost less than a sum of 16 patch terms",
        "conv2.bias": "Conv '/conv2/Conv' applies it at 16 positions",
      ])
    // The written-out encoder block: 8 tokens through nn.Linear (legacy: Transpose + MatMul,
    // then Add), LayerNorm decomposed into Mul and Add by opset 13.
    let reasons = Self.reasons(try ONNXModel(path: TestEnvironment.fixture("onnx/transformer-legacy.onnx").path))
    #expect(
      reasons["block.ff1.weight"]
        == "MatMul '/block/ff1/MatMul' applies it at 8 positions: 8 token terms hold more floats than whole columns (through Transpose '/block/ff1/Transpose')"
    )
    #expect(reasons["block.ff1.bias"] == "Add '/block/ff1/Add' broadcasts it over 8 positions")
    #expect(
      reasons["block.norm1.weight"]
        == "read by Mul '/block/norm1/Mul' (input 1); only MatMul, Gemm, Add, Gather of rows and Conv factor")
    // The learned position table is added once per sample, element for element: a = [1].
    #expect(reasons["position"] == nil)
  }

  /// A convolution's weight as a sum over its output positions of Δ_r ⊗ patch_r (ABI 1.3 `terms`,
  /// option conv_factors): the digits CNN's two convolutions (padding 1, 8·8 and 4·4 positions)
  /// rebuild the Jacobian; their biases, broadcast over the positions, stay plain.
  @Test func digitsConvolutionsFactorAsSumsOverPositionsWhenAsked() throws {
    let digits = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits")
    let model = try ONNXModel(
      path: digits.appendingPathComponent("cnn.onnx").path, options: ModelOptions(convolutionFactoring: .always))
    let x = try NPYFile.read(digits.appendingPathComponent("test_x.npy")).float32Values()
    try Self.check(
      model, Array(x.prefix(3 * model.inputs[0].size)), n: 3,
      factored: Dictionary(
        uniqueKeysWithValues: ["conv1.weight", "conv2.weight", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
          .map { ($0, Layout.outputMajor) }))
    let conv2 = try #require(model.factors[2])
    #expect([conv2.terms, conv2.inputDim, conv2.outputDim] == [16, 16 * 9, 32])
    #expect(Self.reasons(model)["conv2.bias"] == "Conv '/conv2/Conv' applies it at 16 positions")
  }

  /// Strides, dilations, uneven pads and several input channels factor; 2 groups do not.
  ///
  /// The patches are the windows the forward pass reads, zeros over padding. With 2 groups a weight row sees only half the
  /// channels, which is no outer product: plain, and the reason says so; `never` keeps all plain.
  @Test func stridedDilatedConvolutionFactorsAndGroupedOneDoesNot() throws {
    var r = OperatorGradientTests.Numbers(state: 11)
    let conv = ["pads": Attribute.ints([1, 0, 2, 1]), "strides": .ints([2, 1]), "dilations": .ints([1, 2])]
    let graph = Self.graph(
      [
        Self.node("Conv", ["x", "w1", "b1"], "c1", conv), Self.node("Tanh", ["c1"], "h1"),
        Self.node("Conv", ["h1", "w2"], "c2", ["group": .int(2)]), Self.node("Flatten", ["c2"], "f"),
        Self.node("Gemm", ["f", "w3"], "logits", ["transB": .int(1)]),
      ],
      [
        ("w1", r.tensor([4, 3, 3, 2])), ("b1", r.tensor([4])), ("w2", r.tensor([4, 2, 2, 2])),
        ("w3", r.tensor([3, 36])),
      ],
      input: [nil, 3, 6, 5])
    let model = try ONNXModel(graph: graph, path: "strided", options: ModelOptions(convolutionFactoring: .always))
    try Self.check(
      model, Self.inputs(model, n: 3), n: 3, factored: ["w1": .outputMajor, "w3": .outputMajor])
    // c1: rows (6 + 1 + 2 − 3) / 2 + 1 = 4, columns 5 + 0 + 1 − 3 + 1 = 4.
    #expect(model.factors[0].map { [$0.terms, $0.inputDim, $0.outputDim] } == [16, 18, 4])
    #expect(Self.reasons(model)["w2"] == "Conv 'c2' has 2 groups")
    let never = try ONNXModel(graph: graph, path: "strided", options: ModelOptions(convolutionFactoring: .never))
    #expect(Self.reasons(never)["w1"] == "Conv 'c1' applies it at 16 positions (option conv_factors is 'never')")
  }

  /// The default rule factors a convolution when a pair of samples costs fewer multiply-adds as a
  /// sum, R²·(I + C·O), than as columns, C·O·I: 2×2 positions of 32 channels by 3×3 windows
  /// (16·(288 + 320) against 92,160) factor; the digits CNN's stay plain (see above).
  @Test func automaticRuleFactorsFewPositionsOfManyChannels() throws {
    var r = OperatorGradientTests.Numbers(state: 5)
    let graph = Self.graph(
      [
        Self.node("Conv", ["x", "w"], "c", ["pads": .ints([1, 1, 1, 1]), "strides": .ints([2, 2])]),
        Self.node("Relu", ["c"], "h"), Self.node("Flatten", ["h"], "f"), Self.node("Gemm", ["f", "v", "b"], "logits"),
      ], [("w", r.tensor([32, 32, 3, 3])), ("v", r.tensor([128, 10])), ("b", r.tensor([10]))], input: [nil, 32, 4, 4])
    let model = try ONNXModel(graph: graph, path: "late-stage")
    #expect(model.factors[0].map { [$0.terms, $0.inputDim, $0.outputDim] } == [4, 288, 32])
    try Self.check(
      model, Self.inputs(model, n: 2), n: 2, factored: ["w": .outputMajor, "v": .inputMajor, "b": .outputMajor])
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
    return (try? numbers.tensor([n * model.inputs[0].size]).floats("x")) ?? []
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
    #expect(
      Self.reasons(model) == [
        "w": "shared by 2 nodes (Gemm 'y1', Gemm 'y2')", "b2": "Gemm 'y2' broadcasts it over 4 positions",
      ])
  }

  /// A weight read twice by one node stays plain.
  @Test func weightReadTwiceByOneNodeStaysPlain() throws {
    var r = OperatorGradientTests.Numbers(state: 4)
    let graph = Self.graph(
      [
        Self.node("MatMul", ["w", "w"], "square"), Self.node("MatMul", ["x", "square"], "logits"),
      ], [("w", r.tensor([3, 3]))], input: [nil, 3])
    let model = try ONNXModel(graph: graph, path: "square")
    try Self.check(model, Self.inputs(model, n: 2), n: 2, factored: [:])
    #expect(Self.reasons(model) == ["w": "read 2 times by MatMul 'square'"])
  }

  /// Weights that reach their product through rearrangements, biases through reshapes, a Gemm
  /// with transA = 1, and weights as the left operand of MatMul and Gemm (an output column,
  /// Y = W·xᵀ) all factor; π follows the stored layout (a reshape keeps it, a transpose swaps
  /// the roles of the two indices).
  @Test func rearrangedWeightsAndLeftOperandsFactor() throws {
    var r = OperatorGradientTests.Numbers(state: 11)
    let ints = { (values: [Int64]) in Tensor(shape: [values.count], ints: values) }
    let graph = Self.graph(
      [
        // w1 stored [O=5, I=6, 1]: Reshape to [5, 6], Transpose, Identity, then x·w1ᵀ.
        Self.node("Reshape", ["w1", "shape56"], "w1r"),
        Self.node("Transpose", ["w1r"], "w1t", ["perm": .ints([1, 0])]),
        Self.node("Identity", ["w1t"], "w1i"), Self.node("MatMul", ["x", "w1i"], "y1"),
        // b1 stored [1, 5, 1], flattened to [1, 5], added in slot 1.
        Self.node("Flatten", ["b1"], "b1f"), Self.node("Add", ["y1", "b1f"], "s1"), Self.node("Tanh", ["s1"], "h"),
        // Gemm(hᵀ, w2) with transA = 1, alpha = 0.5; C = Unsqueeze(c2 [4]) = [1, 4].
        Self.node("Transpose", ["h"], "ht", ["perm": .ints([1, 0])]), Self.node("Unsqueeze", ["c2", "axis0"], "c2u"),
        Self.node("Gemm", ["ht", "w2", "c2u"], "y2", ["transA": .int(1), "alpha": .float(0.5)]),
        Self.node("Sigmoid", ["y2"], "g"),
        // Left operands: MatMul(w3 [3, 4], gᵀ) and Gemm(w4 [3, 4], g, transB = 1), both [3, 1].
        Self.node("Transpose", ["g"], "gt", ["perm": .ints([1, 0])]), Self.node("MatMul", ["w3", "gt"], "z3"),
        Self.node("Gemm", ["w4", "g"], "z4", ["transB": .int(1)]), Self.node("Add", ["z3", "z4"], "z"),
        Self.node("Transpose", ["z"], "logits", ["perm": .ints([1, 0])]),
      ],
      [
        ("w1", r.tensor([5, 6, 1])), ("b1", r.tensor([1, 5, 1])), ("w2", r.tensor([5, 4])), ("c2", r.tensor([4])),
        ("w3", r.tensor([3, 4])), ("w4", r.tensor([3, 4])), ("shape56", ints([5, 6])), ("axis0", ints([0])),
      ], input: [nil, 6])
    let model = try ONNXModel(graph: graph, path: "rearranged")
    #expect(model.parameterNames == ["w1", "b1", "w2", "c2", "w3", "w4"])
    try Self.check(
      model, Self.inputs(model, n: 3), n: 3,
      factored: [
        "w1": .outputMajor, "b1": .outputMajor, "w2": .inputMajor, "c2": .outputMajor, "w3": .outputMajor,
        "w4": .outputMajor,
      ])
    #expect(model.factors[2]?.input == .value("ht", scale: 0.5))
    #expect(model.factors[4]?.input == .value("gt", scale: 1))
    #expect(model.factors[5]?.input == .value("g", scale: 1))
  }

  /// A Gemm whose A holds two rows per sample (M = 2) stays plain; a MatMul's right operand
  /// applied to two rows is a sum of two terms (token_factors: its 2·(3 + 8·4) floats are fewer
  /// than the 8·3·4 of whole columns), plain with `never`.
  @Test func layersOverSeveralRows() throws {
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
    try Self.check(model, Self.inputs(model, n: 3), n: 3, factored: ["v": .inputMajor])
    #expect(model.factors[2].map { [$0.terms, $0.inputDim, $0.outputDim] } == [2, 3, 4])
    #expect(
      Self.reasons(model) == [
        "w": "Gemm 'y' applies it at 2 positions", "c": "Gemm 'y' broadcasts it over 2 positions",
        "d": "Add 's' broadcasts it over 2 positions",
      ])
    let never = try ONNXModel(graph: graph, path: "rows", options: ModelOptions(tokenFactoring: .never))
    try Self.check(never, Self.inputs(never, n: 3), n: 3, factored: [:])
    #expect(Self.reasons(never)["v"] == "MatMul 'z' applies it at 2 positions (option token_factors is 'never')")
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

  /// ABI 1.2 `reason`: a phrase for an unfactored group, NULL for a factored one, and left alone
  /// for a caller that knows only the ABI 1.1 fields.
  @Test func tableGivesReasonsOnlyToCallersThatKnowTheField() throws {
    let api = try #require(entkBackendV1()).pointee
    #expect(api.abi_version_minor == 3)
    let groupFactor = try #require(api.group_factor)
    let model = try Self.openDigits(api)
    defer { api.close(model) }
    let sentinel = "untouched"
    try sentinel.withCString { untouched in
      var reasons: [String?] = []
      for index: Int64 in [0, 4] {
        var factor = entk_group_factor()
        factor.struct_size = MemoryLayout<entk_group_factor>.size
        factor.reason = untouched
        #expect(groupFactor(model, index, &factor, nil, 0) == ENTK_OK)
        reasons.append(factor.reason.map { String(cString: $0) })
      }
      #expect(
        reasons == [
          "Conv '/conv1/Conv' applies it at 64 positions: whole columns cost less than a sum of 64 patch terms", nil,
        ])

      var older = entk_group_factor()
      older.struct_size = try #require(MemoryLayout<entk_group_factor>.offset(of: \.reason))
      older.reason = untouched
      #expect(groupFactor(model, 0, &older, nil, 0) == ENTK_OK)
      #expect(older.factored == 0)
      #expect(older.reason == untouched)
    }
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
    var viaTable = [Float](repeating: .nan, count: n * reference.factoredRowSize())
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
