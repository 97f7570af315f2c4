import BackendLoader
import EntkTestSupport
import Foundation
import Testing

/// The errors a user sees for models the backend cannot or must not run, through the C ABI:
/// the right status and a message that names the problem.
struct ModelErrorTests {
  static func openFailure(_ path: String, options: String? = nil) throws -> (BackendStatus, String)? {
    let library = try BackendLibrary.load("onnx")
    do {
      _ = try library.open(model: path, options: options)
      return nil
    } catch BackendCallError.failed(_, _, let status, let message) {
      return (status, message)
    }
  }

  @Test func unsupportedOperatorIsReportedAtOpenWithNodeAndOpset() throws {
    let failure = try #require(try Self.openFailure(TestEnvironment.fixture("onnx/unsupported-op.onnx").path))
    #expect(failure.0 == .unimplemented)
    #expect(failure.1.contains("'Einsum'"))
    #expect(failure.1.contains("node 'mix'"))
    #expect(failure.1.contains("opset 13"))
  }

  @Test func truncatedFileIsAnInvalidModel() throws {
    let folder = try TestEnvironment.temporaryDirectory()
    let bytes = try Data(contentsOf: TestEnvironment.fixture("onnx/mlp-legacy.onnx"))
    for fraction in [0.3, 0.9] {
      let path = folder.appendingPathComponent("truncated-\(fraction).onnx")
      try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: path)
      let failure = try #require(try Self.openFailure(path.path))
      #expect(failure.0 == .invalidModel)
      #expect(failure.1.contains("truncated or corrupt"), "\(failure.1)")
    }
  }

  @Test func corruptAndEmptyFilesAreInvalidModels() throws {
    let folder = try TestEnvironment.temporaryDirectory()
    let garbage = folder.appendingPathComponent("garbage.onnx")
    try Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }).write(to: garbage)
    let empty = folder.appendingPathComponent("empty.onnx")
    try Data().write(to: empty)
    for path in [garbage, empty] {
      let failure = try #require(try Self.openFailure(path.path))
      #expect(failure.0 == .invalidModel, "\(failure.1)")
    }
  }

  @Test func missingFileIsNotFound() throws {
    let failure = try #require(try Self.openFailure("/nonexistent/entk/model.onnx"))
    #expect(failure.0 == .notFound)
  }

  @Test func aFolderWithOneModelOpensThatModel() throws {
    let folder = try TestEnvironment.temporaryDirectory()
    try FileManager.default.copyItem(
      at: TestEnvironment.fixture("onnx/mlp-legacy.onnx"), to: folder.appendingPathComponent("mlp.onnx"))
    let model = try BackendLibrary.load("onnx").open(model: folder.path)
    #expect(model.description.numParams == 64 * 16 + 16 + 16 * 12 + 12 + 12 * 10 + 10)
    let failure = try #require(try Self.openFailure(TestEnvironment.fixture("onnx").path))
    #expect(failure.0 == .notFound)
    #expect(failure.1.contains("give the model file"), "\(failure.1)")
  }

  @Test func externalDataInsideTheFolderLoads() throws {
    let library = try BackendLibrary.load("onnx")
    let external = try library.open(model: TestEnvironment.fixture("onnx/external/mlp-external.onnx").path)
    let inline = try library.open(model: TestEnvironment.fixture("onnx/mlp-legacy.onnx").path)
    #expect(try external.parameters() == inline.parameters())
  }

  @Test(arguments: [
    ("escape-dotdot.onnx", "'..'"), ("escape-absolute.onnx", "absolute path"),
    ("out-of-bounds.onnx", "exceeds the size"),
  ])
  func externalDataOutsideTheFolderOrFileIsRejected(_ file: String, _ reason: String) throws {
    let failure = try #require(try Self.openFailure(TestEnvironment.fixture("onnx/external/\(file)").path))
    #expect(failure.0 == .invalidModel)
    #expect(failure.1.contains(reason), "\(failure.1)")
  }

  @Test func externalDataThroughASymlinkLeavingTheFolderIsRejected() throws {
    let root = try TestEnvironment.temporaryDirectory()
    let modelFolder = root.appendingPathComponent("model")
    let elsewhere = root.appendingPathComponent("elsewhere")
    try FileManager.default.createDirectory(at: modelFolder, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
    let source = TestEnvironment.fixture("onnx/external")
    try FileManager.default.copyItem(
      at: source.appendingPathComponent("mlp-external.onnx"),
      to: modelFolder.appendingPathComponent("mlp-external.onnx"))
    try FileManager.default.copyItem(
      at: source.appendingPathComponent("mlp-external.bin"), to: elsewhere.appendingPathComponent("weights.bin"))
    try FileManager.default.createSymbolicLink(
      at: modelFolder.appendingPathComponent("mlp-external.bin"),
      withDestinationURL: elsewhere.appendingPathComponent("weights.bin"))
    let failure = try #require(try Self.openFailure(modelFolder.appendingPathComponent("mlp-external.onnx").path))
    #expect(failure.0 == .invalidModel)
    #expect(failure.1.contains("outside the model's folder"), "\(failure.1)")
  }

  @Test func optionsSelectParametersByNameAndRejectTheUnknown() throws {
    let library = try BackendLibrary.load("onnx")
    let path = TestEnvironment.fixture("onnx/mlp-legacy.onnx").path
    let head = try library.open(model: path, options: #"{"params": ["head.*"]}"#)
    #expect(head.description.parameterGroups.map(\.name) == ["head.weight", "head.bias"])
    #expect(head.description.numParams == 10 * 12 + 10)
    let unknown = try #require(try Self.openFailure(path, options: #"{"learning_rate": 1}"#))
    #expect(unknown.0 == .invalidArgument)
    let unmatched = try #require(try Self.openFailure(path, options: #"{"params": ["nothing.*"]}"#))
    #expect(unmatched.0 == .invalidArgument)
  }

  @Test func parameterGroupsAreTheInitializersNamedAsInPyTorch() throws {
    let model = try BackendLibrary.load("onnx").open(model: TestEnvironment.fixture("onnx/resnet-legacy.onnx").path)
    let names = model.description.parameterGroups.map(\.name)
    #expect(names.first == "stem.0.weight")
    #expect(names.contains("layer1.bn1.weight"))
    // BatchNorm running statistics are buffers, not parameters.
    #expect(!names.contains { $0.hasSuffix("running_mean") || $0.hasSuffix("running_var") })
    #expect(model.description.embeddingSize == 8)
  }
}

extension ModelErrorTests {
  @Test func integerOutputsAreReportedAsNotDifferentiable() throws {
    let output = try #require(try Self.openFailure(TestEnvironment.fixture("onnx/int-output.onnx").path))
    #expect(output.0 == .unimplemented)
    #expect(output.1.contains("output 'label' has element type int64 and cannot be differentiated"), "\(output.1)")
  }
}
