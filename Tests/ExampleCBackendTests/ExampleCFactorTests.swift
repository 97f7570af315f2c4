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
    let n = 4
    let x = Array(inputs.prefix(n * model.description.inputSize))
    let rebuilt = try slots.rebuiltJacobian(
      x, count: n, classes: model.description.numOutputs,
      groups: model.description.parameterGroups.map { ($0.offset, $0.count) }, weightColumns: [5, 7, 6])
    // example-c has no jacobian slot, so this is the host's fallback: C one-hot vjp calls.
    let difference = FactorSlots.relativeDifference(rebuilt, try model.jacobian(x, count: n))
    #expect(difference <= 1e-6, "worst |factored − jacobian| / max |jacobian| = \(difference)")
  }

  @Test func badArgumentsAreInvalidArgumentsWithAMessage() throws {
    let slots = try FactorSlots(backend: Self.library, model: folder.path)
    for (label, failure) in slots.invalidCalls(sample: [0, 0, 0, 0, 0], groupCount: 3) {
      #expect(failure?.isInvalidArgument == true, "\(label): \(String(describing: failure))")
      #expect(failure?.message.isEmpty == false, "\(label)")
    }
  }
}
