import BackendLoader
import CEntkABI
import EntkTestSupport
import Foundation
import Testing

/// swiftnet's ABI 1.1 factor slots, called through its C table: dense layers factor (inside
/// residual blocks too), every other group stays plain, and the factors rebuild `jacobian`.
///
/// With the default options; convolutions as sums: SwiftNetConvolutionFactorTests.
@Suite struct SwiftNetFactorTests {
  static let library = "libentk-backend-swiftnet.so"

  /// A dense layer's weight shape, [out, in], and whether it has a bias.
  struct Dense: Sendable {
    var inFeatures: Int
    var outFeatures: Int
    var bias = true

    var factor: FactorSlots.Factor {
      FactorSlots.Factor(factored: true, inputDim: inFeatures + (bias ? 1 : 0), outputDim: outFeatures)
    }
  }

  /// A model, its inputs, and its dense layers by parameter group name (every other group is plain).
  struct Case: Sendable, CustomTestStringConvertible {
    var label: String
    var path: String
    var options: String?
    var inputs: [Float]
    var dense: [String: Dense]

    var testDescription: String { label }

    static func fixture(_ name: String, dense: [String: Dense]) throws -> Case {
      Case(
        label: name, path: TestEnvironment.fixture(name).path, options: nil,
        inputs: try SwiftNetTestModels.values("\(name)/inputs.npy"), dense: dense)
    }
  }

  static func cases() throws -> [Case] {
    let residualMLP = try SwiftNetTestModels.architecture(
      inputShape: [6],
      layers: """
        [{"type": "dense", "out_features": 8}, {"type": "tanh"},
         {"type": "residual",
          "body": [{"type": "dense", "out_features": 5}, {"type": "gelu"},
                   {"type": "dense", "out_features": 8, "bias": false}],
          "shortcut": [{"type": "dense", "out_features": 8}]},
         {"type": "tanh"},
         {"type": "residual", "body": [{"type": "dense", "out_features": 8}, {"type": "sigmoid"}]},
         {"type": "dense", "out_features": 3}]
        """)
    return [
      try .fixture(
        "swiftnet-mlp",
        dense: [
          "0": Dense(inFeatures: 12, outFeatures: 7), "2": Dense(inFeatures: 7, outFeatures: 5, bias: false),
          "4": Dense(inFeatures: 5, outFeatures: 3),
        ]),
      try .fixture(
        "swiftnet-cnn", dense: ["9": Dense(inFeatures: 54, outFeatures: 8), "11": Dense(inFeatures: 8, outFeatures: 5)]),
      try .fixture("swiftnet-resnet", dense: ["8": Dense(inFeatures: 8, outFeatures: 3)]),
      Case(
        label: "dense layers in residual blocks", path: residualMLP, options: #"{"init_seed": 3}"#,
        // 25 samples: more than one of the backward pass's chunks (64 / C = 21 samples).
        inputs: SwiftNetTestModels.seededValues(25 * 6, seed: 11),
        dense: [
          "0": Dense(inFeatures: 6, outFeatures: 8), "2.body.0": Dense(inFeatures: 8, outFeatures: 5),
          "2.body.2": Dense(inFeatures: 5, outFeatures: 8, bias: false),
          "2.shortcut.0": Dense(inFeatures: 8, outFeatures: 8), "4.body.0": Dense(inFeatures: 8, outFeatures: 8),
          "5": Dense(inFeatures: 8, outFeatures: 3),
        ]),
    ]
  }

  @Test(arguments: try cases()) func exactlyTheDenseGroupsFactor(_ testCase: Case) throws {
    let model = try SwiftNetTestModels.library().open(model: testCase.path, options: testCase.options)
    let slots = try FactorSlots(backend: Self.library, model: testCase.path, options: testCase.options)
    let groups = model.description.parameterGroups
    #expect(Set(testCase.dense.keys).isSubset(of: groups.map(\.name)), "\(groups.map(\.name))")
    for (index, group) in groups.enumerated() {
      #expect(try slots.groupFactor(index) == testCase.dense[group.name]?.factor ?? .plain, "group \(group.name)")
    }
  }

  @Test(arguments: try cases()) func factorsRebuildTheJacobian(_ testCase: Case) throws {
    let model = try SwiftNetTestModels.library().open(model: testCase.path, options: testCase.options)
    let slots = try FactorSlots(backend: Self.library, model: testCase.path, options: testCase.options)
    let description = model.description
    let n = testCase.inputs.count / description.inputSize
    let rebuilt = try slots.rebuiltJacobian(
      testCase.inputs, count: n, classes: description.numOutputs,
      groups: description.parameterGroups.map { ($0.offset, $0.count) },
      weightColumns: description.parameterGroups.map { testCase.dense[$0.name]?.inFeatures ?? 0 })
    let difference = FactorSlots.relativeDifference(rebuilt, try model.jacobian(testCase.inputs, count: n))
    #expect(difference <= 1e-6, "worst |factored − jacobian| / max |jacobian| = \(difference)")
  }

  @Test func tableFillsEveryABI13Slot() throws {
    let slots = try FactorSlots(backend: Self.library, model: TestEnvironment.fixture("swiftnet-mlp").path)
    let whole =
      (MemoryLayout<entk_backend_api>.offset(of: \.factored_vjp_inputs) ?? 0) + MemoryLayout<UnsafeRawPointer?>.size
    #expect(slots.tableSize == whole)
    #expect(slots.abiMinor == 3)
    let api = try SwiftNetTestModels.table()
    #expect(api.input_info != nil && api.forward_inputs != nil && api.vjp_inputs != nil)
    #expect(api.jacobian_inputs != nil && api.factored_jacobian_inputs != nil && api.factored_vjp_inputs != nil)
    #expect(api.train_inputs != nil)
    // A host that knows only the ABI 1.1 fields is served too.
    let older = MemoryLayout<entk_group_factor>.offset(of: \.reason) ?? 0
    #expect(try slots.groupFactor(0, structSize: older).factored)
  }

  /// The one input, described through `input_info` as hosts without it assume: float32, named
  /// "input", of the architecture's shape.
  @Test func inputInfoDescribesTheOneFloatInput() throws {
    let model = try SwiftNetTestModels.library().open(model: TestEnvironment.fixture("swiftnet-cnn").path)
    #expect(model.description.inputs == [ModelInput(name: "input", elementType: .float32, shape: [3, 9, 7])])
  }

  /// swiftnet-cnn: input 3×9×7, conv2d 3×3 with padding 1 keeps the 9×7 = 63 positions (a sum of
  /// 63 terms of I = 28, O = 4 costs 63²·(28 + 5·4) multiply-adds per pair, columns 5·4·28), and
  /// the batch norm after it runs at each of them; conv "3" has 2 groups; its dense layers ("9",
  /// "11") give no reason.
  @Test func plainGroupsSayWhy() throws {
    let model = try SwiftNetTestModels.library().open(model: TestEnvironment.fixture("swiftnet-cnn").path)
    let layout = try #require(model.factorLayout)
    let reasons = Dictionary(
      uniqueKeysWithValues: zip(model.description.parameterGroups.map(\.name), layout.plainReasons))
    #expect(reasons["0"] == "conv2d applies it at 63 positions: whole columns cost less than a sum of 63 patch terms")
    #expect(reasons["3"] == "conv2d applies it at 25 positions in 2 groups (only one group factors)")
    #expect(reasons["1"] == "batchnorm2d scales and shifts each channel at 63 positions")
    #expect(reasons["9"] == .some(nil))
    #expect(reasons["11"] == .some(nil))
  }

  @Test func badArgumentsAreInvalidArgumentsWithAMessage() throws {
    let slots = try FactorSlots(backend: Self.library, model: TestEnvironment.fixture("swiftnet-mlp").path)
    for (label, failure) in slots.invalidCalls(sample: [Float](repeating: 0, count: 12), groupCount: 3) {
      #expect(failure?.isInvalidArgument == true, "\(label): \(String(describing: failure))")
      #expect(failure?.message.isEmpty == false, "\(label)")
    }
  }
}
