import BackendLoader
import EntkTestSupport
import Foundation
import Testing

/// Bad architecture files fail at open, with a status from the ABI's set and a message naming
/// the layer.
@Suite struct ArchitectureErrorTests {
  /// Opens `layers` (with `options`) and returns the failure's status and message.
  private func openFailure(
    inputShape: [Int] = [4], layers: String, options: String? = #"{"init_seed": 1}"#, label: String = #function
  ) throws -> (BackendStatus?, String) {
    let path = try SwiftNetTestModels.architecture(inputShape: inputShape, layers: layers, label: label)
    do {
      _ = try SwiftNetTestModels.library().open(model: path, options: options)
    } catch let error as BackendCallError {
      return (error.status, error.message)
    }
    Issue.record("open succeeded")
    return (nil, "")
  }

  @Test func unknownLayerTypeIsUnimplementedAndNamed() throws {
    let (status, message) = try openFailure(
      layers: #"[{"type": "dense", "out_features": 3}, {"type": "swish", "name": "act1"}]"#)
    #expect(status == .unimplemented)
    #expect(message.contains("'act1'") && message.contains("swish"))
  }

  @Test func denseInFeaturesMismatchNamesTheLayer() throws {
    let (status, message) = try openFailure(
      layers:
        #"[{"type": "dense", "out_features": 6}, {"type": "dense", "name": "head", "in_features": 5, "out_features": 2}]"#
    )
    #expect(status == .invalidModel)
    #expect(message.contains("'head'") && message.contains("in_features is 5") && message.contains("6"))
  }

  @Test func spatialLayerAfterFlattenIsAShapeMismatch() throws {
    let (status, message) = try openFailure(
      inputShape: [1, 4, 4],
      layers:
        #"[{"type": "flatten"}, {"type": "conv2d", "out_channels": 2, "kernel_size": 3}, {"type": "dense", "out_features": 2}]"#
    )
    #expect(status == .invalidModel)
    #expect(message.contains("layer '1'") && message.contains("[16]"))
  }

  @Test func residualBranchesMustAgree() throws {
    let (status, message) = try openFailure(
      inputShape: [2, 4, 4],
      layers:
        #"[{"type": "residual", "name": "block", "body": [{"type": "conv2d", "out_channels": 3, "kernel_size": 1}]}, {"type": "flatten"}, {"type": "dense", "out_features": 2}]"#
    )
    #expect(status == .invalidModel)
    #expect(message.contains("'block'") && message.contains("[3, 4, 4]") && message.contains("[2, 4, 4]"))
  }

  @Test func kernelLargerThanInputIsRejected() throws {
    let (status, message) = try openFailure(
      inputShape: [1, 3, 3],
      layers:
        #"[{"type": "conv2d", "name": "big", "out_channels": 2, "kernel_size": 5}, {"type": "flatten"}, {"type": "dense", "out_features": 2}]"#
    )
    #expect(status == .invalidModel)
    #expect(message.contains("'big'"))
  }

  @Test func unknownKeyAndWrongValueTypeAreRejected() throws {
    let (_, typo) = try openFailure(layers: #"[{"type": "dense", "name": "fc", "out_feature": 3}]"#)
    #expect(typo.contains("'fc'") && typo.contains("out_features"))
    let (_, unknown) = try openFailure(layers: #"[{"type": "dense", "name": "fc", "out_features": 3, "bais": false}]"#)
    #expect(unknown.contains("'fc'") && unknown.contains("'bais'"))
    let (_, wrongType) = try openFailure(layers: #"[{"type": "dense", "name": "fc", "out_features": 3, "bias": 1}]"#)
    #expect(wrongType.contains("'fc'") && wrongType.contains("true or false"))
  }

  @Test func networkMustEndInLogits() throws {
    let (status, message) = try openFailure(
      inputShape: [1, 4, 4], layers: #"[{"type": "conv2d", "name": "last", "out_channels": 2, "kernel_size": 3}]"#)
    #expect(status == .invalidModel)
    #expect(message.contains("'last'") && message.contains("[2, 2, 2]"))
  }

  @Test func missingWeightsNameTheLayer() throws {
    let (status, message) = try openFailure(
      layers: #"[{"type": "dense", "name": "fc1", "out_features": 3}]"#, options: nil)
    #expect(status == .invalidModel)
    #expect(message.contains("'fc1'") && message.contains("fc1.weight.npy") && message.contains("init_seed"))
  }

  @Test func wrongWeightShapeNamesTheLayer() throws {
    let source = TestEnvironment.fixture("swiftnet-mlp")
    let folder = try TestEnvironment.temporaryDirectory()
    for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
      try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
    }
    // Layer "2" is dense 7 → 5 without bias; give it the 0th layer's [7, 12] weight instead.
    try FileManager.default.removeItem(at: folder.appendingPathComponent("2.weight.npy"))
    try FileManager.default.copyItem(
      at: folder.appendingPathComponent("0.weight.npy"), to: folder.appendingPathComponent("2.weight.npy"))
    do {
      _ = try SwiftNetTestModels.library().open(model: folder.path)
      Issue.record("open succeeded")
    } catch let error as BackendCallError {
      #expect(error.status == .invalidModel)
      #expect(
        error.message.contains("layer '2'") && error.message.contains("[7, 12]") && error.message.contains("[5, 7]"))
    }
  }

  @Test func malformedArchitectureAndMissingFile() throws {
    let folder = try TestEnvironment.temporaryDirectory()
    let file = folder.appendingPathComponent("model.json")
    try Data("{\"format\": ".utf8).write(to: file)
    #expect(throws: BackendCallError.self) { try SwiftNetTestModels.library().open(model: file.path) }
    do {
      _ = try SwiftNetTestModels.library().open(model: folder.appendingPathComponent("absent").path)
    } catch let error as BackendCallError {
      #expect(error.status == .notFound)
    }
  }

  @Test func unknownOpenOptionIsAnInvalidArgument() throws {
    let (status, message) = try openFailure(
      layers: #"[{"type": "dense", "out_features": 3}]"#, options: #"{"init_sed": 1}"#)
    #expect(status == .invalidArgument)
    #expect(message.contains("init_sed"))
  }
}
