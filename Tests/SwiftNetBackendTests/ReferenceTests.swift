import BackendLoader
import Conformance
import EntkTestSupport
import Foundation
import Testing

/// The backend against PyTorch: fixtures written by tools/fixtures/make_swiftnet_fixtures.py
/// hold weights, inputs, and PyTorch's logits, embeddings and (for the MLP) Jacobians.
@Suite struct ReferenceTests {
  static let fixtures = ["swiftnet-mlp", "swiftnet-cnn", "swiftnet-resnet"]

  @Test(arguments: fixtures) func forwardMatchesPyTorch(_ fixture: String) throws {
    let model = try SwiftNetTestModels.library().open(model: TestEnvironment.fixture(fixture).path)
    let inputs = try SwiftNetTestModels.values("\(fixture)/inputs.npy")
    let expectedLogits = try SwiftNetTestModels.values("\(fixture)/logits.npy")
    let expectedEmbedding = try SwiftNetTestModels.values("\(fixture)/embedding.npy")
    let n = inputs.count / model.description.inputSize
    let (logits, embedding) = try model.forward(inputs, count: n, withEmbedding: true)
    #expect(logits.count == expectedLogits.count)
    #expect(embedding?.count == expectedEmbedding.count)
    for (got, want) in zip(logits, expectedLogits) { #expect(abs(got - want) <= 1e-5 + 1e-4 * abs(want)) }
    for (got, want) in zip(embedding ?? [], expectedEmbedding) { #expect(abs(got - want) <= 1e-5 + 1e-4 * abs(want)) }
  }

  @Test func jacobianMatchesTorchFunc() throws {
    let model = try SwiftNetTestModels.library().open(model: TestEnvironment.fixture("swiftnet-mlp").path)
    let inputs = try SwiftNetTestModels.values("swiftnet-mlp/inputs.npy")
    let expected = try SwiftNetTestModels.values("swiftnet-mlp/jacobian.npy")
    let jacobian = try model.jacobian(inputs, count: inputs.count / model.description.inputSize)
    #expect(jacobian.count == expected.count)
    let worst = zip(jacobian, expected).map { abs($0 - $1) / (1e-4 + abs($1)) }.max() ?? .infinity
    #expect(worst <= 1e-3)
  }

  /// With the default options and with every convolution as a sum over its positions (the ABI
  /// 1.3 checks of factored rows and factored vjp rows against the Jacobian and the vjp).
  @Test(arguments: fixtures, [nil, #"{"conv_factors": "always"}"#]) func conformancePasses(
    _ fixture: String, options: String?
  ) throws {
    let conformance = BackendConformance(
      library: try SwiftNetTestModels.library(), modelPath: TestEnvironment.fixture(fixture).path, options: options)
    let values = try SwiftNetTestModels.values("\(fixture)/inputs.npy")
    let checks = conformance.run(samples: { InputArrays($0.inputs[0], floats: values) })
    for check in checks { #expect(check.outcome == .passed, "\(check.name): \(check.detail)") }
  }

  @Test func checkBackendCommandPassesOnResNet() throws {
    let result = try runEntk([
      "check-backend", "--backend", "swiftnet", "--model", TestEnvironment.fixture("swiftnet-resnet").path,
    ])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    #expect(result.stdout.contains("conformance: all"))
  }
}
