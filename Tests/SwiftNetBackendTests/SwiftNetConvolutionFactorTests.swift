import ArrayIO
import BackendLoader
import CEntkABI
import EntkTestSupport
import Foundation
import Testing

/// swiftnet's convolutions as sums over their output positions (ABI 1.3 `terms`): the rows of
/// `factored_jacobian_inputs` and `factored_vjp_inputs` rebuild the plain Jacobian and vjp, the
/// `conv_factors` option and its default rule decide which convolutions factor, older callers see
/// them plain, and kernels computed from the sums equal those from whole columns.
@Suite struct SwiftNetConvolutionFactorTests {
  static let library = "libentk-backend-swiftnet.so"
  static let always = #"{"conv_factors": "always"}"#
  static let never = #"{"conv_factors": "never"}"#

  /// A group's weight layout for rebuilding its parameters: `columns` = K (the weight [O, K]
  /// row-major), followed by a bias when the factor's I is K + 1.
  struct Expected: Sendable {
    var factor: FactorSlots.Factor
    var columns: Int
  }

  /// A model, inputs, options, and its factored groups by name (every other group is plain).
  struct Case: Sendable, CustomTestStringConvertible {
    var label: String
    var path: String
    var options: String
    var inputs: [Float]
    var factored: [String: Expected]

    var testDescription: String { label }
  }

  /// A convolution's factor: terms = output positions, I = Cin·kh·kw (+ 1 with a bias), O = Cout.
  static func convolution(positions: Int, channels: Int, kernel: Int, out: Int, bias: Bool) -> Expected {
    let columns = channels * kernel
    return Expected(
      factor: FactorSlots.Factor(
        factored: true, inputDim: columns + (bias ? 1 : 0), outputDim: out, terms: positions),
      columns: columns)
  }

  static func dense(_ inFeatures: Int, _ outFeatures: Int) -> Expected {
    Expected(
      factor: FactorSlots.Factor(factored: true, inputDim: inFeatures + 1, outputDim: outFeatures),
      columns: inFeatures)
  }

  /// Input [2, 7, 5]: a 3×2 kernel with stride (2, 1), padding (1, 2) and dilation (1, 2) → [5, 4, 7]
  /// (rows 0, 2, 4, 6 of the 9 padded ones; 9 − 3 + 1 = 7 columns of the window 3 wide: 28
  /// positions), then a 1×1 convolution without bias, into a small head.
  static func stridedArchitecture() throws -> String {
    try SwiftNetTestModels.architecture(
      inputShape: [2, 7, 5],
      layers: """
        [{"type": "conv2d", "out_channels": 5, "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 2],
          "dilation": [1, 2]},
         {"type": "tanh"},
         {"type": "conv2d", "out_channels": 3, "kernel_size": 1, "bias": false},
         {"type": "globalavgpool"}, {"type": "dense", "out_features": 4}]
        """)
  }

  static func cases() throws -> [Case] {
    [
      // Input 3×9×7, padding 1: 63 positions; conv "3" has 2 groups and stays plain.
      Case(
        label: "swiftnet-cnn", path: TestEnvironment.fixture("swiftnet-cnn").path, options: always,
        inputs: try SwiftNetTestModels.values("swiftnet-cnn/inputs.npy"),
        factored: [
          "0": convolution(positions: 63, channels: 3, kernel: 9, out: 4, bias: true),
          "9": dense(54, 8), "11": dense(8, 5),
        ]),
      // Input 2×6×6: 36 positions before the stride-2 block, 9 after it (its 1×1 shortcut too).
      Case(
        label: "swiftnet-resnet", path: TestEnvironment.fixture("swiftnet-resnet").path, options: always,
        inputs: try SwiftNetTestModels.values("swiftnet-resnet/inputs.npy"),
        factored: [
          "0": convolution(positions: 36, channels: 2, kernel: 9, out: 4, bias: false),
          "3.body.0": convolution(positions: 36, channels: 4, kernel: 9, out: 4, bias: false),
          "3.body.3": convolution(positions: 36, channels: 4, kernel: 9, out: 4, bias: false),
          "5.body.0": convolution(positions: 9, channels: 4, kernel: 9, out: 8, bias: false),
          "5.body.3": convolution(positions: 9, channels: 8, kernel: 9, out: 8, bias: false),
          "5.shortcut.0": convolution(positions: 9, channels: 4, kernel: 1, out: 8, bias: false),
          "8": dense(8, 3),
        ]),
      Case(
        label: "strides, padding and dilation", path: try stridedArchitecture(),
        options: #"{"conv_factors": "always", "init_seed": 5}"#,
        // 23 samples: more than one of the Jacobian's chunks (64 / C = 16 samples).
        inputs: SwiftNetTestModels.seededValues(23 * 70, seed: 4),
        factored: [
          "0": convolution(positions: 28, channels: 2, kernel: 6, out: 5, bias: true),
          "2": convolution(positions: 28, channels: 5, kernel: 1, out: 3, bias: false),
          "4": dense(3, 4),
        ]),
    ]
  }

  /// Parameter index of (o, j) in a group laid out as a dense layer's: weight [O, K], then bias.
  static func position(_ expected: Expected?, o: Int, j: Int) -> Int {
    guard let expected else { return 0 }
    let columns = expected.columns
    return j < columns ? o * columns + j : expected.factor.outputDim * columns + o
  }

  @Test(arguments: try cases()) func groupFactorReportsEachConvolutionAsASumOverPositions(_ testCase: Case) throws {
    let model = try SwiftNetTestModels.library().open(model: testCase.path, options: testCase.options)
    let slots = try FactorSlots(backend: Self.library, model: testCase.path, options: testCase.options)
    for (index, group) in model.description.parameterGroups.enumerated() {
      #expect(try slots.groupFactor(index) == testCase.factored[group.name]?.factor ?? .plain, "group \(group.name)")
    }
  }

  @Test(arguments: try cases()) func factoredRowsRebuildTheJacobian(_ testCase: Case) throws {
    let model = try SwiftNetTestModels.library().open(model: testCase.path, options: testCase.options)
    let slots = try FactorSlots(backend: Self.library, model: testCase.path, options: testCase.options)
    let description = model.description
    let groups = description.parameterGroups
    let n = testCase.inputs.count / description.inputSize
    let factors = try groups.indices.map { try slots.groupFactor($0) }
    // BackendModel reads a table with the ABI 1.3 slots through factored_jacobian_inputs.
    let rows = try model.factoredJacobian(testCase.inputs, count: n)
    let rebuilt = FactorSlots.jacobian(
      fromFactored: rows, count: n, classes: description.numOutputs, groups: groups.map { ($0.offset, $0.count) },
      factors: factors
    ) { g, o, j in Self.position(testCase.factored[groups[g].name], o: o, j: j) }
    let difference = FactorSlots.relativeDifference(rebuilt, try model.jacobian(testCase.inputs, count: n))
    #expect(difference <= 1e-6, "worst |factored − jacobian| / max |jacobian| = \(difference)")
  }

  /// With one class the rows are the vjp's: rebuilt the same way, they equal `vjp` with the same
  /// cotangents.
  @Test(arguments: try cases()) func factoredVJPRowsRebuildTheVJP(_ testCase: Case) throws {
    let model = try SwiftNetTestModels.library().open(model: testCase.path, options: testCase.options)
    let slots = try FactorSlots(backend: Self.library, model: testCase.path, options: testCase.options)
    let description = model.description
    let groups = description.parameterGroups
    let n = testCase.inputs.count / description.inputSize
    let cotangents = SwiftNetTestModels.seededValues(n * description.numOutputs, seed: 21)
    let layout = try #require(model.factorLayout).collapsingClasses()
    var rows = [Float](repeating: .nan, count: n * layout.rowLength)
    try testCase.inputs.withUnsafeBufferPointer { inputs in
      let batch = InputBatch(
        try #require(description.singleFloatInput), floats: try #require(inputs.baseAddress), count: n)
      try cotangents.withUnsafeBufferPointer { u in
        try rows.withUnsafeMutableBufferPointer { try model.factoredVJP(batch, cotangents: u, rows: $0) }
      }
    }
    let rebuilt = FactorSlots.jacobian(
      fromFactored: rows, count: n, classes: 1, groups: groups.map { ($0.offset, $0.count) },
      factors: try groups.indices.map { try slots.groupFactor($0) }
    ) { g, o, j in Self.position(testCase.factored[groups[g].name], o: o, j: j) }
    let vjp = try model.vjp(testCase.inputs, count: n, cotangents: cotangents)
    let difference = FactorSlots.relativeDifference(rebuilt, vjp)
    #expect(difference <= 1e-6, "worst |factored vjp − vjp| / max |vjp| = \(difference)")
  }

  /// The default rule on input [2, 8, 8] with C = 5: a sum only where it costs less.
  ///
  /// Conv "0" (2→16, 3×3, stride 2, padding 1) has R = 16 positions, I = 19, O = 16: per sample
  /// a sum costs 64·16²·99 + 64·16·99 = 1.72 M flop-equivalents, columns 5·16·19·(32 + 128) =
  /// 0.24 M, so it stays plain. Conv "1" (16→16, 3×3, stride 2, padding 1) has R = 4, I = 145,
  /// O = 16: 64·4²·225 + 64·4·225 = 0.29 M < 5·16·145·(8 + 128) = 1.58 M, so it factors.
  @Test func theDefaultRuleFactorsWhereASumCostsLess() throws {
    let path = try SwiftNetTestModels.architecture(
      inputShape: [2, 8, 8],
      layers: """
        [{"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1},
         {"type": "conv2d", "out_channels": 16, "kernel_size": 3, "stride": 2, "padding": 1},
         {"type": "flatten"}, {"type": "dense", "out_features": 5}]
        """)
    let seeded = #"{"init_seed": 1}"#
    let slots = try FactorSlots(backend: Self.library, model: path, options: seeded)
    #expect(try slots.groupFactor(0) == .plain)
    #expect(try slots.groupFactor(1) == FactorSlots.Factor(factored: true, inputDim: 145, outputDim: 16, terms: 4))
    let reasons = try #require(try SwiftNetTestModels.library().open(model: path, options: seeded).factorLayout)
      .plainReasons
    #expect(reasons[0] == "conv2d applies it at 16 positions: whole columns cost less than a sum of 16 patch terms")
    #expect(reasons[1] == nil)

    let never = #"{"init_seed": 1, "conv_factors": "never"}"#
    let plain = try #require(try SwiftNetTestModels.library().open(model: path, options: never).factorLayout)
    #expect(plain.plainReasons[1] == "conv2d applies it at 4 positions (option conv_factors is 'never')")
    #expect(try FactorSlots(backend: Self.library, model: path, options: never).groupFactor(1) == .plain)
  }

  @Test func badConvFactorsOptionsAreInvalidArguments() throws {
    let path = TestEnvironment.fixture("swiftnet-cnn").path
    for options in [#"{"conv_factors": "sometimes"}"#, #"{"conv_factors": 1}"#] {
      #expect {
        _ = try SwiftNetTestModels.library().open(model: path, options: options)
      } throws: { error in
        let failure = error as? BackendCallError
        return failure?.status == .invalidArgument && failure?.message.contains("conv_factors") == true
      }
    }
  }

  /// A caller whose `entk_group_factor` ends before `terms` (ABI 1.1 or 1.2) sees every sum plain,
  /// with the convolution's reason, and the ABI 1.1 slot `factored_jacobian` returns it as plain
  /// columns in that layout.
  @Test func olderCallersSeeSumsPlain() throws {
    let testCase = try #require(try Self.cases().first)
    let model = try SwiftNetTestModels.library().open(model: testCase.path, options: testCase.options)
    let slots = try FactorSlots(backend: Self.library, model: testCase.path, options: testCase.options)
    let groups = model.description.parameterGroups
    let beforeTerms = MemoryLayout<entk_group_factor>.offset(of: \.terms) ?? 0
    let beforeReason = MemoryLayout<entk_group_factor>.offset(of: \.reason) ?? 0
    var factors: [FactorSlots.Factor] = []
    for (index, group) in groups.enumerated() {
      let older = try slots.groupFactor(index, structSize: beforeTerms)
      let oldest = try slots.groupFactor(index, structSize: beforeReason)
      let single = testCase.factored[group.name].map(\.factor).flatMap { $0.terms == 1 ? $0 : nil } ?? .plain
      #expect(older == single && oldest == single, "group \(group.name)")
      factors.append(older)
    }
    #expect(try Self.reason(group: 0, structSize: beforeTerms) == "conv2d applies it at 63 positions")

    let n = testCase.inputs.count / model.description.inputSize
    let c = model.description.numOutputs
    let rowSize = FactorSlots.rowSize(classes: c, groupCounts: groups.map(\.count), factors: factors)
    let rebuilt = FactorSlots.jacobian(
      fromFactored: try slots.factoredJacobian(testCase.inputs, count: n, rowSize: rowSize), count: n, classes: c,
      groups: groups.map { ($0.offset, $0.count) }, factors: factors
    ) { g, o, j in Self.position(testCase.factored[groups[g].name], o: o, j: j) }
    let difference = FactorSlots.relativeDifference(rebuilt, try model.jacobian(testCase.inputs, count: n))
    #expect(difference <= 1e-6, "worst |factored_jacobian − jacobian| / max |jacobian| = \(difference)")
  }

  /// The `reason` of group `group`'s answer to a struct of `structSize` bytes, for swiftnet-cnn with
  /// conv_factors always (FactorSlots does not return reasons).
  static func reason(group: Int, structSize: Int) throws -> String? {
    let table = try SwiftNetTestModels.table()
    var opened: OpaquePointer?
    var error = [CChar](repeating: 0, count: 512)
    let path = TestEnvironment.fixture("swiftnet-cnn").path
    try #require(table.open(path, always, &opened, &error, error.count) == ENTK_OK)
    let model = try #require(opened)
    defer { table.close(model) }
    var factor = entk_group_factor()
    factor.struct_size = structSize
    let groupFactor = try #require(table.group_factor)
    try #require(groupFactor(model, Int64(group), &factor, &error, error.count) == ENTK_OK)
    return factor.reason.map { String(cString: $0) }
  }

  /// `entk kernel` gives the same trntk and pntk (both normalisations) whether the convolutions
  /// come as sums or as whole columns, and the unnormalised trntk equals Σ_c g_c(x)·g_c(x') from the
  /// plain Jacobian.
  @Test(arguments: ["swiftnet-cnn", "swiftnet-resnet"]) func kernelsFromSumsEqualKernelsFromColumns(
    _ fixture: String
  ) throws {
    let folder = TestEnvironment.fixture(fixture)
    let output = try TestEnvironment.temporaryDirectory("conv-factor-kernels-\(fixture)")
    defer { try? FileManager.default.removeItem(at: output) }
    func kernel(_ kind: String, _ normalize: String, options: String) throws -> [Float] {
      let out = output.appendingPathComponent("\(kind)-\(normalize)-\(options.count)")
      let result = try runEntk([
        "kernel", "--backend", "swiftnet", "--model", folder.path, "--options", options, "--train",
        folder.appendingPathComponent("inputs.npy").path, "--kind", kind, "--normalize", normalize, "--out", out.path,
      ])
      try #require(result.status == 0, "\(result.stderr)")
      return try NPYFile.read(out.appendingPathComponent("kernel.npy")).float32Values()
    }
    for kind in ["trntk", "pntk"] {
      for normalize in ["none", "cosine"] {
        let summed = try kernel(kind, normalize, options: Self.always)
        let columns = try kernel(kind, normalize, options: Self.never)
        let difference = FactorSlots.relativeDifference(summed, columns)
        #expect(difference <= 1e-5, "\(fixture) \(kind) \(normalize): relative difference \(difference)")
      }
    }
    let model = try SwiftNetTestModels.library().open(model: folder.path, options: Self.never)
    let inputs = try SwiftNetTestModels.values("\(fixture)/inputs.npy")
    let n = inputs.count / model.description.inputSize
    let width = model.description.numOutputs * model.description.numParams
    let jacobian = try model.jacobian(inputs, count: n)
    var reference = [Float](repeating: 0, count: n * n)
    for i in 0..<n {
      for j in 0..<n {
        var sum = 0.0
        for k in 0..<width { sum += Double(jacobian[i * width + k]) * Double(jacobian[j * width + k]) }
        reference[i * n + j] = Float(sum)
      }
    }
    let difference = FactorSlots.relativeDifference(try kernel("trntk", "none", options: Self.always), reference)
    #expect(difference <= 1e-5, "\(fixture) trntk from sums vs Σ_c g_c·g_c': relative difference \(difference)")
  }
}
