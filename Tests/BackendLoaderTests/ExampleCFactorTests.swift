import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Testing

/// example-c's ABI 1.1 factor slots, called through its C table.
@Suite struct ExampleCFactorTests {
  static let library = "libentk-backend-example-c.so"
  let folder = TestEnvironment.fixture("example-c-mlp")

  @Test func tableDeclaresBothFactorSlotsAndMinorOne() throws {
    let slots = try FactorSlots(backend: Self.library, model: folder.path)
    #expect(slots.tableSize == FactorSlots.fullTableSize)
    #expect(slots.abiMinor == 1)
  }

  @Test func everyLayerFactorsWithItsBiasAsAConstantInput() throws {
    let slots = try FactorSlots(backend: Self.library, model: folder.path)
    // The fixture is 5 → 7 → 6 → 3: I = in + 1 (the bias column), O = out.
    let expected = [(6, 7), (8, 6), (7, 3)].map { FactorSlots.Factor(factored: true, inputDim: $0, outputDim: $1) }
    #expect(try (0..<3).map { try slots.groupFactor($0) } == expected)
  }

  @Test func factorsRebuildTheJacobianOfOneHotVJPs() throws {
    let model = try BackendLibrary.load("example-c").open(model: folder.path)
    let slots = try FactorSlots(backend: Self.library, model: folder.path)
    let inputs = try NPYFile.read(folder.appendingPathComponent("inputs.npy")).float32Values()
    let groups = model.description.parameterGroups
    let (d, c, n) = (model.description.inputSize, model.description.numOutputs, 4)
    let x = Array(inputs.prefix(n * d))
    let factors = try groups.indices.map { try slots.groupFactor($0) }
    let rowSize = FactorSlots.rowSize(classes: c, groupCounts: groups.map(\.count), factors: factors)
    let factored = try slots.factoredJacobian(x, count: n, rowSize: rowSize)
    // a for layer 1 is the sample itself followed by the bias's 1.
    for i in 0..<n {
      #expect(Array(factored[i * rowSize..<i * rowSize + d + 1]) == Array(x[i * d..<(i + 1) * d]) + [1])
    }
    let rebuilt = FactorSlots.jacobian(
      fromFactored: factored, count: n, classes: c, groups: groups.map { ($0.offset, $0.count) }, factors: factors,
      weightColumns: factors.map { $0.inputDim - 1 })
    // example-c has no jacobian slot, so this is the host's fallback: C one-hot vjp calls.
    let reference = try model.jacobian(x, count: n)
    #expect(rebuilt.count == reference.count)
    let scale = reference.map(abs).max() ?? 1
    let worst = zip(rebuilt, reference).map { abs($0 - $1) }.max() ?? .infinity
    #expect(worst <= 1e-6 * scale, "worst |factored − jacobian| = \(worst), scale \(scale)")
  }

  @Test func badArgumentsAreInvalidArgumentsWithAMessage() throws {
    let slots = try FactorSlots(backend: Self.library, model: folder.path)
    let calls: [(String, () throws -> Void)] = [
      ("n = 0", { _ = try slots.factoredJacobian([0, 0, 0, 0, 0], count: 0, rowSize: 1) }),
      ("n = -1", { _ = try slots.factoredJacobian([0, 0, 0, 0, 0], count: -1, rowSize: 1) }),
      ("index -1", { _ = try slots.groupFactor(-1) }),
      ("index 3", { _ = try slots.groupFactor(3) }),
      ("struct_size 8", { _ = try slots.groupFactor(0, structSize: 8) }),
    ]
    for (label, call) in calls {
      let failure = #expect(throws: FactorSlots.CallFailure.self, "\(label)") { try call() }
      #expect(failure?.isInvalidArgument == true, "\(label): \(String(describing: failure))")
      #expect(failure?.message.isEmpty == false, "\(label)")
    }
  }
}
