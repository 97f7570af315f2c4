import BackendLoader
import EntkTestSupport
import Foundation
import Testing

/// `save` writes a model folder that reopens with bit-identical parameters and outputs.
@Suite struct SaveTests {
  @Test(arguments: ReferenceTests.fixtures) func savedModelReopensBitIdentically(_ fixture: String) throws {
    let library = try SwiftNetTestModels.library()
    let original = try library.open(model: TestEnvironment.fixture(fixture).path)
    let inputs = try SwiftNetTestModels.values("\(fixture)/inputs.npy")
    let n = inputs.count / original.description.inputSize
    let folder = try TestEnvironment.temporaryDirectory().appendingPathComponent("saved")
    try original.save(to: folder.path)
    let reopened = try library.open(model: folder.path)
    #expect(reopened.description == original.description)
    #expect(try reopened.parameters() == original.parameters())
    #expect(
      try reopened.forward(inputs, count: n, withEmbedding: true)
        == original.forward(inputs, count: n, withEmbedding: true))
    #expect(try reopened.jacobian(inputs, count: n) == original.jacobian(inputs, count: n))
  }

  @Test func saveReplacesAModelFolderButNothingElse() throws {
    let library = try SwiftNetTestModels.library()
    let model = try library.open(model: TestEnvironment.fixture("swiftnet-mlp").path)
    let root = try TestEnvironment.temporaryDirectory()
    let target = root.appendingPathComponent("model")
    try model.save(to: target.path)
    var changed = try model.parameters()
    changed[0] += 1
    try model.setParameters(changed)
    try model.save(to: target.path)
    #expect(try library.open(model: target.path).parameters() == changed)

    let other = root.appendingPathComponent("not-a-model")
    try FileManager.default.createDirectory(at: other, withIntermediateDirectories: false)
    #expect {
      try model.save(to: other.path)
    } throws: { error in
      let failure = error as? BackendCallError
      return failure?.status == .invalidArgument && failure?.message.contains("not a swiftnet model folder") == true
    }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }
    #expect(leftovers.isEmpty, "temporary folders left behind: \(leftovers)")
  }
}
